// The platform's own readiness checks (core/readiness.ts):
// - `started`: the stores are open and the platform's loops run (set once `listen` is done); not ready
//   again from the moment it starts shutting down, so a load balancer stops sending before it stops.
// - `pools` (where instances run here): every runtime known at start has had its generic pool full
//   once (ready >= target), or could not fill it because the instance budget was used up. It latches:
//   pools emptied by traffic, resized, or added later never make a ready platform unready again; a
//   runtime deleted while its pool fills is no longer waited for.
// Other parts add theirs (a state store that must be up, say) through `Readiness.add`.
import type { Readiness } from '../core/readiness.js'
import type { Fleet } from '../poolmgr/fleet.js'
import type { PoolManager } from '../poolmgr/manager.js'

export interface PlatformReadiness {
  /** The platform listens and its loops run. */
  started(): void
  closing(): void
}

export function platformReadiness(r: Readiness, o: { pools: PoolManager; fleet: Fleet; runsInstances: boolean }): PlatformReadiness {
  let state: 'starting' | 'started' | 'closing' = 'starting'
  r.add('started', () => (state === 'started' ? undefined : state === 'closing' ? 'shutting down' : 'starting'))
  if (!o.runsInstances) return { started: () => { state = 'started' }, closing: () => { state = 'closing' } }

  // runtime -> "ready/target" while its pool has not been full yet
  let waiting: Map<string, string> | undefined
  let timer: NodeJS.Timeout | undefined
  const observe = () => {
    if (waiting === undefined) return
    const budgetUsedUp = o.fleet.budget.free === 0
    const present = new Set<string>()
    for (const p of o.pools.stats()) {
      if (p.placement !== 'default' || !waiting.has(p.runtime)) continue
      present.add(p.runtime)
      if (p.ready >= p.target || budgetUsedUp) waiting.delete(p.runtime)
      else waiting.set(p.runtime, `${p.ready}/${p.target}`)
    }
    // A runtime deleted meanwhile has no pool to wait for.
    for (const rt of waiting.keys()) if (!present.has(rt)) waiting.delete(rt)
    if (waiting.size === 0 && timer !== undefined) {
      clearInterval(timer)
      timer = undefined
    }
  }
  r.add('pools', () => {
    if (waiting === undefined) return 'starting'
    observe()
    if (waiting.size === 0) return undefined
    return `generic pools filling: ${[...waiting].map(([rt, n]) => `${rt} ${n}`).join(', ')}`
  })
  return {
    started() {
      state = 'started'
      waiting = new Map(o.pools.stats().filter((p) => p.placement === 'default').map((p) => [p.runtime, `${p.ready}/${p.target}`]))
      // A pool may be full only for a moment (traffic takes from it at once): look often until each was.
      timer = setInterval(observe, 100)
      timer.unref()
      observe()
    },
    closing() {
      state = 'closing'
      if (timer !== undefined) clearInterval(timer)
      timer = undefined
    },
  }
}
