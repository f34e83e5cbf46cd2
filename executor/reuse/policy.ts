// What happens to a specialized instance between requests, per function (`spec.reuse`). One file per
// policy, all behind this interface (as the strategies are), registered in one line in
// ../function-state.ts (REUSE_POLICIES).
import type { FunctionResource } from '../../core/types.js'
import type { InstanceRecord } from '../../poolmgr/instance.js'

export interface ReusePolicy {
  readonly name: 'reuse' | 'recycle' | 'fresh'
  /** Requests one instance serves at once. */
  concurrency(fn: FunctionResource): number
  /** May this ready instance take another request? On the hot path: no allocation. */
  accepts(rec: InstanceRecord): boolean
  /** Has the instance served its time (checked after each request and on the executor's tick)? Then it leaves the function. */
  spent(rec: InstanceRecord, fn: FunctionResource, now: number): boolean
  /** May an instance leaving the function go back to a generic pool (after a clean unload)? */
  readonly returnsToPool: boolean
}
