// What the control API handlers work with: the resource stores, and read models of the running
// platform (read-models.ts) that platform/ builds from its parts.
import type { Logger } from 'pino'
import type { Authenticator } from '../core/auth/authenticate.js'
import type { LimitsPolicy } from '../core/limits.js'
import type { Releases } from '../core/releases/releases.js'
import type { PackageStore } from '../core/store/package-store.js'
import type { QueueTriggerStatus } from '../core/queue-trigger.js'
import type { ResourceStore } from '../core/store/resource-store.js'
import type { SecretStore } from '../core/store/secret-store.js'
import type { TokenStore } from '../core/store/token-store.js'
import type { FunctionResource, HTTPTriggerResource, NamespaceResource, QueueTriggerResource, Resource, RuntimeResource } from '../core/types.js'
import type { CronTriggers, Events, Executions, Instances, Invocations, LiveFunctions, Logs, Nodes, Pools, Protections, RequestSeriesView, Routes, Workflows } from './read-models.js'

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
  namespaces: ResourceStore<NamespaceResource>
  tokens: TokenStore
  secrets: SecretStore
  auth: Authenticator
  protections: Protections
  /** Function versions, traffic splits, aliases and canaries (core/releases). */
  releases: Releases
  /** Verifies signed package URLs handed to instances that download their code (Kubernetes). */
  packageSignature?: { verify(sha256: string, sig: string): boolean }
  /**
   * Every store of a namespaced kind, in the order a namespace's contents are deleted (what refers
   * first): `kiln ns delete` counts and cascades over these (routes, cron and queue triggers, workflows, functions).
   */
  namespaced: { kind: string; store: ResourceStore<Resource> }[]
  invocations: Invocations
  cron: CronTriggers
  /** The operator's default and maximum limits for functions (kiln.yaml sandbox.limits; embedded only). */
  limits?: LimitsPolicy
  /** What the platform will not do of a function's spec, said when it is deployed (Kubernetes: a pids limit). */
  warnings?(fn: FunctionResource): string[]
  mqTriggers: ResourceStore<QueueTriggerResource>
  /** Queue triggers' consumers in this process, by the trigger's ref; absent where none run (the control API alone). */
  queues?: { status(ref: string): QueueTriggerStatus | undefined }
  /** Per-function request rate and latency series, for the console (`GET /v1/functions/NAME/series`, `/v1/watch`). */
  series: RequestSeriesView
}
