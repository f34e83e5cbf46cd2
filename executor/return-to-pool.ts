// An idle instance leaving its function (idle, rolled to a new version, failed): under the `pool`
// strategy, one whose runtime reports it clean after `/v1/unload` goes back to its generic pool instead
// of being killed, saving a boot. It has run the function's code, so the pool keeps it apart and hands it
// only to that same function again (a new version of it), or to another of its namespace where that
// namespace shares instances (reuse-boundary.ts): "clean" is what the runtime can see, and a patched
// global is not. Never for `fresh` (one clean process per request) or `recycle`
// (replaced because earlier calls may have changed it), a deleted function (nobody may take it), instances
// booted for one function (dedicated, or with boot-time limits of its own), Fission-protocol runtimes
// (they cannot unload), a pool without room, or limits that could not be lifted.
import type { ResourceStore } from '../core/store/resource-store.js'
import type { RuntimeResource } from '../core/types.js'
import type { Fleet } from '../poolmgr/fleet.js'
import type { InstanceRecord } from '../poolmgr/instance.js'
import type { PoolManager } from '../poolmgr/manager.js'
import type { FunctionState } from './function-state.js'
import { unload } from './specialize.js'

export interface ReturnDeps {
  runtimes: ResourceStore<RuntimeResource>
  pools: PoolManager
  fleet: Fleet
  closing(): boolean
}

export function returnOrRetire(rec: InstanceRecord, fs: FunctionState, d: ReturnDeps): void {
  const runtime = d.runtimes.get(rec.runtime)
  const pool = d.pools.pool(rec.runtime)
  if (rec.bootedFor !== undefined || !rec.poolable || fs.strategy !== 'pool' || !fs.policy.returnsToPool || fs.deleted || runtime?.spec.protocol === 'fission' || !pool?.hasRoomFor(rec) || d.closing()) {
    void d.fleet.retire(rec)
    return
  }
  void unload(rec).then(async (clean) => {
    if (clean && rec.limited) {
      clean = await d.fleet.backend.setLimits?.(rec.id, null).then(() => true, () => false) ?? true
      rec.limited = !clean
    }
    // Its code and secrets leave with it; the next load puts the next version's there.
    if (clean) clean = await d.fleet.backend.unstage?.(rec.id).then(() => true, () => false) ?? true
    if (clean && rec.state === 'draining' && !d.closing()) {
      rec.state = 'generic'
      rec.fn = undefined
      rec.version = undefined
      rec.requests = 0
      rec.inflight = 0
      if (pool.giveBack(rec)) {
        fs.returned++
        return
      }
    }
    void d.fleet.retire(rec)
  })
}
