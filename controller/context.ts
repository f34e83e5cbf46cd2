// What the control API handlers work with: the resource stores, and read models of the running
// platform (read-models.ts) that platform/ builds from its parts.
import type { Logger } from 'pino'
import type { PackageStore } from '../core/store/package-store.js'
import type { QueueTriggerStatus } from '../core/queue-trigger.js'
import type { ResourceStore } from '../core/store/resource-store.js'
import type { FunctionResource, HTTPTriggerResource, QueueTriggerResource, RuntimeResource } from '../core/types.js'
import type { Events, Executions, Instances, LiveFunctions, Logs, Nodes, Pools, Routes, Workflows } from './read-models.js'

export interface ControlContext {
  functions: ResourceStore<FunctionResource>
  runtimes: ResourceStore<RuntimeResource>
  triggers: ResourceStore<HTTPTriggerResource>
  packages: PackageStore
  logger: Logger
  maxPackageBytes: number
  live: LiveFunctions
  instances: Instances
  pools: Pools
  nodes: Nodes
  events: Events
  logs: Logs
  routes: Routes
  workflows: Workflows
  executions: Executions
  mqTriggers: ResourceStore<QueueTriggerResource>
  /** Queue triggers' consumers in this process; absent where none run (the control API alone). */
  queues?: { status(name: string): QueueTriggerStatus | undefined }
}
