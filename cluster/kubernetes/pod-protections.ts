// What confines a function's instance on Kubernetes, as Kiln's pods are built today (pod-template.ts),
// in the sandbox's terms (docs/sandbox.md): the list the log, /healthz and /v1/nodes show, and that the
// controller reads before it accepts a private function outside `default`. Pods are the sandbox there;
// what the pod spec does not yet carry (docs/sandbox.md "On Kubernetes") is reported missing.
import type { Protection } from '../backend.js'

export function podProtections(): Protection[] {
  return [
    { name: 'uid', active: false, detail: 'missing: pods run as their image\'s user (no runAsNonRoot or runAsUser in the pod spec); capabilities are dropped and privilege escalation is off' },
    { name: 'filesystem', active: true, detail: 'each pod has its own container file system (its image); no platform or other function\'s files; its root file system is writable' },
    { name: 'processes', active: true, detail: 'each pod has its own pid namespace (no hostPID)' },
    { name: 'network', active: false, detail: 'missing: pods have their own network namespace, but no NetworkPolicy keeps them from the platform\'s components and from each other' },
    { name: 'limits', active: false, detail: 'missing: cpu and memory limits only when the function sets them; no default limits and no pids limit of Kiln\'s (the kubelet\'s podPidsLimit applies)' },
    { name: 'tmp', active: false, detail: 'missing: /tmp is the container\'s writable layer, not a size-capped emptyDir' },
    { name: 'transport', active: false, detail: 'missing: the router reaches pods over TCP on the pod network, which other pods reach too (no NetworkPolicy)' },
    { name: 'code', active: true, detail: 'pods download their code by a URL signed for that package alone and check its sha256 before loading it' },
  ]
}
