// How many generic instances a pool keeps: the one rule for the local pools (manager.ts) and the
// Kubernetes pool Deployments (cluster/kubernetes/pools.ts, given it by platform/). Change the pool
// refill policy here.
import type { RuntimeResource } from '../core/types.js'

/**
 * The runtime's `poolSize` (else the platform's default) for its default pool. A pool on a special
 * placement (isolated nodes, a node selector, per-function limits) serves few functions: at most one.
 */
export function poolTarget(runtime: RuntimeResource, defaultSize: number, special = false): number {
  const size = runtime.spec.poolSize ?? defaultSize
  return special ? Math.min(size, 1) : size
}

