// What the metrics (core/metrics.ts) read at scrape time, over the assembled parts: each function's
// counters and instances (executor), the generic pools (pool manager) and the fleet's instances.
import type { FunctionSample, MetricsSources } from '../core/metrics.js'
import type { Executor } from '../executor/executor.js'
import type { FunctionState } from '../executor/function-state.js'
import type { Fleet } from '../poolmgr/fleet.js'
import type { PoolManager } from '../poolmgr/manager.js'

export function metricsSources(executor: Executor, pools: PoolManager, fleet: Fleet): MetricsSources {
  return {
    functions: () => executor.functions().map(functionSample),
    pools: () => pools.stats(),
    instances: () => fleet.records.values(),
  }
}

function functionSample(fs: FunctionState): FunctionSample {
  let queued = fs.queue.length
  for (const p of fs.provisions) queued += p.waiters.length
  let inflight = 0
  const instances: Record<string, number> = { warming: fs.loading.size, ready: 0, busy: 0, draining: 0 }
  for (const r of fs.instances) {
    inflight += r.inflight
    if (r.state === 'draining') instances.draining++
    else if (r.state === 'ready') instances[r.inflight > 0 ? 'busy' : 'ready']++
  }
  return { name: fs.name, counters: fs.stats, queued, inflight, isolated: fs.isolation !== undefined, instances }
}
