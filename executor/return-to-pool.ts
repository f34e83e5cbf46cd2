// An idle instance leaving its function (idle, recycled, redeployed). Under the `pool` strategy, one
// whose runtime reports it clean after `/v1/unload` goes back to the generic pool instead of being
// killed, saving a boot — safe because the runtime checked that the function left nothing running and
// restored the environment (docs/operators.md says what it cannot see). Never for `fresh` (one clean
// process per request), instances booted for one function (dedicated, even after the function changed
// strategy), Fission-protocol runtimes (they cannot unload), a full pool, or limits that could not be
// lifted.
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
  if (rec.bootedFor !== undefined || fs.strategy !== 'pool' || !fs.policy.returnsToPool || runtime?.spec.protocol === 'fission' || !pool?.hasRoom() || d.closing()) {
    void d.fleet.retire(rec)
    return
  }
  void unload(rec).then(async (clean) => {
    if (clean && rec.limited) {
      clean = await d.fleet.backend.setLimits?.(rec.id, null).then(() => true, () => false) ?? true
      rec.limited = !clean
    }
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
