// What Kubernetes mode does not do of a Function's spec, said when it is deployed (the control API's
// `warnings`, which `kiln fn deploy` prints) rather than left for the operator to find out: a pod has no
// process limit of its own (the kubelet's podPidsLimit is one number for every pod of a node), a
// container has no per-process rlimits of its own (open files and file size are the container runtime's
// defaults), every runtime pod's /tmp is the operator's one size (it is booted before any function
// claims it), and a pool or warm function's pods keep the generic pod's requests (an in-place resize
// cannot change a pod's QoS class; docs/kubernetes.md, "Resources on Kubernetes").
import { DEFAULT_TMP_SIZE } from '../../cluster/kubernetes/pod-template.js'
import { FUNCTION_DEFAULTS, type FunctionResource } from '../../core/types.js'

/** `tmpSize`: the /tmp of every runtime pod (the chart's runtimePods.tmpSize). */
export function kubernetesWarnings(fn: FunctionResource, tmpSize = DEFAULT_TMP_SIZE): string[] {
  const out: string[] = []
  const r = fn.spec.resources
  if (r?.pids !== undefined) out.push(`resources.pids (${r.pids}) is not enforced on Kubernetes: a pod has no pids limit of its own (the kubelet's podPidsLimit applies to every pod of a node)`)
  if (r?.openFiles !== undefined) out.push(`resources.openFiles (${r.openFiles}) is not enforced on Kubernetes: a container has no open-files limit of its own (the container runtime's default applies)`)
  if (r?.fileSize !== undefined) out.push(`resources.fileSize (${r.fileSize}) is not enforced on Kubernetes: a container has no file-size limit of its own (the container runtime's default applies)`)
  if (r?.tmp !== undefined) out.push(`resources.tmp (${r.tmp}) is not enforced on Kubernetes: every runtime pod's /tmp is ${tmpSize} (the chart's runtimePods.tmpSize)`)
  const strategy = fn.spec.strategy ?? FUNCTION_DEFAULTS.strategy
  if (r?.requests && strategy !== 'dedicated') out.push(`resources.requests apply to a dedicated function's own pods; this ${strategy} function's pods keep the generic pod's requests (its limits still apply)`)
  return out
}
