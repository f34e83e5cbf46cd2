// What confines a function's instance on Kubernetes, as Kiln's pods are built (pod-template.ts, with the
// operator's KILN_RUNTIME_POD_TEMPLATE), in the sandbox's terms (docs/sandbox.md): the list the log,
// /healthz and /v1/nodes show, and that the controller reads before it accepts a private function
// outside `default`. Pods are the sandbox there; what the pod spec does not carry is reported missing.
import type { Protection } from '../backend.js'
import { DEFAULT_TMP_SIZE, RUNTIME_POD_SECURITY, type RuntimePodTemplate } from './pod-template.js'

export function podProtections(t: RuntimePodTemplate = {}): Protection[] {
  const pod = t.podSecurityContext ?? RUNTIME_POD_SECURITY.pod
  const container = t.containerSecurityContext ?? RUNTIME_POD_SECURITY.container
  const uid = container.runAsUser ?? pod.runAsUser
  const nonRoot = (container.runAsNonRoot ?? pod.runAsNonRoot) === true || (uid !== undefined && uid > 0)
  const confined = nonRoot && container.allowPrivilegeEscalation === false && container.privileged !== true && (container.capabilities?.drop ?? []).includes('ALL')
  const readOnly = container.readOnlyRootFilesystem === true
  const tmp = t.tmpSize ?? DEFAULT_TMP_SIZE
  return [
    confined
      ? { name: 'uid', active: true, detail: `pods run as a non-root uid (${uid ?? 'the image\'s'}, the same for every pod), with all capabilities dropped and no privilege escalation` }
      : { name: 'uid', active: false, detail: 'missing: the runtime pod template lets pods run as root, keep capabilities or escalate privileges (runtimePods.podSecurityContext, .containerSecurityContext)' },
    { name: 'filesystem', active: true, detail: `each pod has its own container file system (its image); no platform or other function's files; its root file system is ${readOnly ? 'read-only' : 'writable'}` },
    { name: 'processes', active: true, detail: 'each pod has its own pid namespace (no hostPID)' },
    t.networkPolicy
      ? { name: 'network', active: true, detail: 'pods have their own network namespace; a NetworkPolicy lets only the executors reach them (not other runtime pods, nor anything else in the cluster)' }
      : { name: 'network', active: false, detail: 'missing: pods have their own network namespace, but no NetworkPolicy keeps them from each other (runtimePods.networkPolicy.enabled)' },
    { name: 'limits', active: false, detail: 'missing: cpu and memory limits only when the function sets them; no default limits, no pids limit of Kiln\'s (the kubelet\'s podPidsLimit applies), no open-files or file-size limit of the function\'s' },
    { name: 'tmp', active: true, detail: `/tmp is a memory-backed emptyDir of ${tmp} (counted in the pod's memory), the same for every pod: a function's tmp size does not change it` },
    t.networkPolicy
      ? { name: 'transport', active: true, detail: 'the executor reaches pods over TCP on the pod network; the NetworkPolicy admits no other pod' }
      : { name: 'transport', active: false, detail: 'missing: the executor reaches pods over TCP on the pod network, which other pods reach too (no NetworkPolicy)' },
    { name: 'code', active: true, detail: 'pods download their code by a URL signed for that package alone and check its sha256 before loading it' },
  ]
}
