import type { Logger } from 'pino'
import type { NodeConfig } from '../core/config.js'
import type { EventLog } from '../core/events.js'
import type { Metrics } from '../core/metrics.js'
import type { ResourceStore } from '../core/store/resource-store.js'
import type { PackageStore } from '../core/store/package-store.js'
import type { FunctionResource, HTTPTriggerResource, QueueTriggerResource, RuntimeResource } from '../core/types.js'
import type { Executor } from '../executor/executor.js'
import type { FunctionLogs } from '../executor/function-logs.js'
import type { Fleet } from '../poolmgr/fleet.js'
import type { PoolManager } from '../poolmgr/manager.js'
import type { RouteTable } from '../triggers/http/route-table.js'
import type { WorkflowEngine } from '../workflows/engine.js'
import type { WorkflowCatalog } from '../workflows/platform/catalog.js'
import type { QueueTriggerStatus } from '../core/queue-trigger.js'

/** What the control API handlers work with. */
export interface ControlContext {
  functions: ResourceStore<FunctionResource>
  runtimes: ResourceStore<RuntimeResource>
  triggers: ResourceStore<HTTPTriggerResource>
  packages: PackageStore
  executor: Executor
  pools: PoolManager
  fleet: Fleet
  routes: RouteTable
  logs: FunctionLogs
  logger: Logger
  maxPackageBytes: number
  events: EventLog
  metrics: Metrics
  nodes: NodeConfig[]
  cgroups: { mode: string; reason?: string }
  workflows: WorkflowCatalog
  engine: WorkflowEngine
  mqTriggers: ResourceStore<QueueTriggerResource>
  /** Queue triggers' consumers in this process; absent where none run (the control API alone). */
  queues?: { status(name: string): QueueTriggerStatus | undefined }
}
