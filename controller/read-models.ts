// What the control API reads of the running platform and asks of it: narrow interfaces that platform/
// implements over the executor, fleet, pools, route table and workflow engine
// (platform/read-models.ts). The controller never sees those classes, so a part can change inside
// without the API changing, and the API can be served from parts that run elsewhere.
import type { PlatformEvent } from '../core/events.js'
import type { HTTPTriggerResource, WorkflowResource } from '../core/types.js'
import type { ResourceStore } from '../core/store/resource-store.js'
import type { Execution, ExecutionEvent, ExecutionStatus, ExecutionSummary } from '../workflows/state/execution.js'

/** Functions as the executor serves them. */
export interface LiveFunctions {
  /** Live status (strategy, counters, instances, isolation); undefined when the function is not served here. */
  status(name: string): Record<string, unknown> | undefined
  /** Settles once the function's latest spec is applied (old version out of service, warm set ready). */
  whenApplied(name: string): Promise<void>
  /** Moves the function's instances to isolated nodes by hand; settles when moved. */
  isolate(name: string, reason: string): Promise<void>
  /** Lets an isolated function back onto general nodes; settles when moved. */
  release(name: string): Promise<void>
}

export interface PoolStatus { runtime: string; placement: string; target: number; ready: number; booting: number }

export interface Pools {
  /** Every generic pool, with the instances of its runtime being specialized and in use. */
  list(): (PoolStatus & { specializing: number; inUse: number })[]
  /** The runtime's default pool, if it has one here. */
  get(runtime: string): PoolStatus | undefined
}

export interface Instances {
  list(): Record<string, unknown>[]
}

export interface Nodes {
  /** Each node with its labels, taints, capacity, usage and instances. */
  list(): Record<string, unknown>[]
}

export interface Events {
  list(filter: { function?: string; type?: string; since?: number }): PlatformEvent[]
}

export interface Logs {
  /** The function's last `tail` output lines. */
  read(fn: string, tail: number): Promise<string[]>
}

export interface Routes {
  /** Would this route clash with an existing one? */
  conflicts(t: HTTPTriggerResource): boolean
}

export interface Workflows {
  readonly store: ResourceStore<WorkflowResource>
  /** The parsed workflow's tasks, or undefined when none is deployed by that name. */
  spec(name: string): { tasks: Record<string, unknown> } | undefined
  /** A request body as a checked Workflow resource (KILN_ERR_VALIDATION naming the field otherwise). */
  check(body: unknown, urlName?: string): Promise<WorkflowResource>
  /** The workflows whose steps start `name`. */
  usedBy(name: string): string[]
}

export interface Executions {
  /** Starts an execution under a new id; `done` settles with the final record. */
  start(workflow: string, input: unknown): Promise<{ executionId: string; done: Promise<Execution> }>
  get(id: string): Promise<Execution | undefined>
  list(filter: { workflow?: string; status?: ExecutionStatus; limit?: number }): Promise<ExecutionSummary[]>
  events(id: string): Promise<ExecutionEvent[]>
  cancel(id: string): Promise<Execution>
}
