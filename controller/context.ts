import type { Logger } from 'pino'
import type { Protection } from '../cluster/backend.js'
import type { LimitsPolicy } from '../core/limits.js'
import type { NodeConfig } from '../core/config.js'
import type { EventLog } from '../core/events.js'
import type { Metrics } from '../core/metrics.js'
import type { ResourceStore } from '../core/store/resource-store.js'
import type { PackageStore } from '../core/store/package-store.js'
import type { FunctionResource, HTTPTriggerResource, RuntimeResource } from '../core/types.js'
import type { Executor } from '../executor/executor.js'
import type { FunctionLogs } from '../executor/function-logs.js'
import type { Fleet } from '../poolmgr/fleet.js'
import type { PoolManager } from '../poolmgr/manager.js'
import type { RouteTable } from '../router/routes.js'
import type { WorkflowEngine } from '../workflows/engine.js'
import type { WorkflowCatalog } from '../workflows/platform/catalog.js'

export interface SandboxView {
  protections(): Protection[]
  /** The operator's default and maximum limits for functions (kiln.yaml sandbox.limits). */
  limits?: LimitsPolicy
}

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
  /** The embedded sandbox: its protections (the one list; refuse what needs a missing one) and limits. */
  sandbox?: SandboxView
  workflows: WorkflowCatalog
  engine: WorkflowEngine
}
