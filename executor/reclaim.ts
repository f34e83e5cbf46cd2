// Frees one place in the instance budget when a request needs an instance and none is left: the least
// recently used idle specialized instance first, then an idle generic one from a pool. Resolves when
// the victim has exited, so the budget is never exceeded, even briefly. Only instances idle for `minIdleMs`
// (poolmgr/budget.ts RECLAIM_IDLE_MS when a function grows beyond its first instance).
import type { Logger } from 'pino'
import type { Fleet } from '../poolmgr/fleet.js'
import type { InstanceRecord } from '../poolmgr/instance.js'
import type { PoolManager } from '../poolmgr/manager.js'
import type { FunctionState } from './function-state.js'

export function reclaimOne(fns: Iterable<FunctionState>, pools: PoolManager, fleet: Fleet, logger: Logger, minIdleMs: number, now = Date.now()): Promise<void> | undefined {
  let victim: InstanceRecord | undefined
  let owner: FunctionState | undefined
  for (const fs of fns) {
    for (const r of fs.instances) {
      if (r.state === 'ready' && r.inflight === 0 && now - r.lastUsed >= minIdleMs && (victim === undefined || r.lastUsed < victim.lastUsed)) { victim = r; owner = fs }
    }
  }
  if (victim && owner) {
    victim.state = 'draining'
    owner.remove(victim)
    logger.info({ instance: victim.id, function: owner.name }, 'reclaimed idle instance for the instance budget')
    return fleet.retire(victim, 200)
  }
  const generic = pools.idleGeneric()[0]
  if (generic) {
    pools.owner(generic)?.forget(generic)
    return fleet.retire(generic, 200)
  }
  return undefined
}
