// The controller's read models (controller/read-models.ts) over the assembled parts: the only place
// that turns executor, fleet, pool and workflow-engine state into what the control API shows. The
// event log, function logs, route table and workflow catalogue have the read models' shape already.
import type { NodeConfig } from '../core/config.js'
import type { Executions, Instances, LiveFunctions, Nodes, Pools } from '../controller/read-models.js'
import type { Executor } from '../executor/executor.js'
import type { Fleet } from '../poolmgr/fleet.js'
import type { PoolManager } from '../poolmgr/manager.js'
import type { WorkflowEngine } from '../workflows/engine.js'
import { newExecutionId } from '../core/execution-ids.js'

export function liveFunctions(executor: Executor): LiveFunctions {
  return {
    status: (name) => executor.describe(name),
    whenApplied: (name) => executor.whenApplied(name),
    isolate: (name, reason) => executor.isolate(name, { reason, evidence: {}, at: Date.now(), by: 'operator' }),
    release: (name) => executor.releaseIsolation(name, 'operator'),
  }
}

export function poolsView(pools: PoolManager, executor: Executor): Pools {
  return {
    list: () => pools.stats().map((p) => {
      let specializing = 0
      let inUse = 0
      for (const fs of executor.functions()) {
        if (fs.fn.spec.runtime !== p.runtime) continue
        specializing += fs.provisions.length
        inUse += fs.instances.filter((r) => r.inflight > 0).length
      }
      return { ...p, specializing, inUse }
    }),
    get: (runtime) => pools.pool(runtime)?.stats(),
  }
}

export function instancesView(fleet: Fleet): Instances {
  return { list: () => [...fleet.records.values()].map((r) => r.describe()) }
}

export function nodesView(fleet: Fleet, nodes: NodeConfig[], cgroups: { mode: string; reason?: string }): Nodes {
  return {
    list: () => {
      const recs = [...fleet.records.values()]
      return nodes.map((n) => {
        const on = recs.filter((r) => r.node === n.name)
        return {
          name: n.name, labels: n.labels ?? {}, taints: n.taints ?? [], capacity: { cpus: n.cpus, memory: n.memory, cpuset: n.cpuset },
          usage: {
            instances: on.length,
            cpuCores: Math.round(on.reduce((a, r) => a + (r.load?.cpuCores ?? 0), 0) * 1000) / 1000,
            memoryBytes: on.reduce((a, r) => a + (r.load?.memoryBytes ?? 0), 0),
          },
          instances: on.map((r) => ({ id: r.id, function: r.fn, state: r.state === 'ready' && r.inflight > 0 ? 'busy' : r.state })),
          cgroups,
        }
      })
    },
  }
}

export function executionsView(engine: WorkflowEngine): Executions {
  return {
    start: (workflow, input) => engine.start(workflow, input, { async: true, executionId: newExecutionId() }),
    get: (id) => engine.get(id),
    list: (filter) => engine.list(filter),
    events: (id) => engine.events(id),
    cancel: (id) => engine.cancel(id),
  }
}

