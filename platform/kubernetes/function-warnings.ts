// What Kubernetes mode does not do of a Function's spec, said when it is deployed (the control API's
// `warnings`, which `kiln fn deploy` prints) rather than left for the operator to find out: a pod has no
// process limit of its own (the kubelet's podPidsLimit is one number for every pod of a node), and a
// pool or warm function's pods keep the generic pod's requests (an in-place resize cannot change a
// pod's QoS class; docs/kubernetes.md, "Resources").
import { FUNCTION_DEFAULTS, type FunctionResource } from '../../core/types.js'

export function kubernetesWarnings(fn: FunctionResource): string[] {
  const out: string[] = []
  const r = fn.spec.resources
  if (r?.pids !== undefined) out.push(`resources.pids (${r.pids}) is not enforced on Kubernetes: a pod has no pids limit of its own (the kubelet's podPidsLimit applies to every pod of a node)`)
  const strategy = fn.spec.strategy ?? FUNCTION_DEFAULTS.strategy
  if (r?.requests && strategy !== 'dedicated') out.push(`resources.requests apply to a dedicated function's own pods; this ${strategy} function's pods keep the generic pod's requests (its limits still apply)`)
  return out
}
