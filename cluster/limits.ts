// A function's resources as the limits a backend applies to its instances (local: cgroups and rlimits;
// Kubernetes: the pod's resources), shared by the executor and the Kubernetes function sets so both ask
// for the same thing.
import { parseBytes } from '../core/quantity.js'
import type { FunctionResource } from '../core/types.js'
import type { InstanceLimits } from './backend.js'

export function functionLimits(fn: FunctionResource): InstanceLimits | null {
  const r = fn.spec.resources
  if (!r) return null
  const req = r.requests
  return {
    cpu: r.cpu, memoryBytes: r.memory ? parseBytes(r.memory) : undefined, pids: r.pids,
    // Fixed when an instance boots on the embedded platform (rlimits, the /tmp mount; ClusterBackend.fitsPooled).
    openFiles: r.openFiles, fileSizeBytes: r.fileSize ? parseBytes(r.fileSize) : undefined, tmpBytes: r.tmp ? parseBytes(r.tmp) : undefined,
    ...(req && (req.cpu !== undefined || req.memory !== undefined) ? { requests: { cpu: req.cpu, memoryBytes: req.memory ? parseBytes(req.memory) : undefined } } : {}),
  }
}
