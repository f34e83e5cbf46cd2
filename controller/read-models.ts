// What the control API reads of the running platform and asks of it: narrow interfaces that platform/
// implements over the executor, fleet, pools, route table and workflow engine
// (platform/read-models.ts). The controller never sees those classes, so a part can change inside
// without the API changing, and the API can be served from parts that run elsewhere.
import type { PlatformEvent } from '../core/events.js'
import type { Series } from '../core/request-series.js'
import type { CronTriggerResource, HTTPTriggerResource, WorkflowResource } from '../core/types.js'
import type { ResourceStore } from '../core/store/resource-store.js'
import type { Execution, ExecutionEvent, ExecutionStatus, ExecutionSummary } from '../workflows/state/execution.js'

/** Functions as the executor serves them. */
export interface LiveFunctions {
  /** Live status (strategy, counters, instances, isolation); undefined when the function is not served here. */
  status(ref: string): Record<string, unknown> | undefined
  /** Settles once the function's latest spec is applied (old version out of service, warm set ready). */
  whenApplied(ref: string): Promise<void>
  /** Moves the function's instances to isolated nodes by hand; settles when moved. */
  isolate(ref: string, reason: string): Promise<void>
  /** Lets an isolated function back onto general nodes; settles when moved. */
  release(ref: string): Promise<void>
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
  read(ref: string, tail: number): Promise<string[]>
  /** Calls `onLine` with each line the function's instances write from now on; settles once `signal` aborts. */
  follow(ref: string, onLine: (line: string) => void, signal: AbortSignal): Promise<void>
}

export interface Routes {
  /** The existing route this one would clash with (any namespace: user routes are one URL space), if any. */
  conflicts(t: HTTPTriggerResource): HTTPTriggerResource | undefined
}

/** What confines instances here (the sandbox's report); private functions outside `default` need all of it. */
export interface Protections {
  /** The protections missing on this machine, each with why (empty: all present). */
  missing(): { name: string; detail: string }[]
}

export interface Workflows {
  readonly store: ResourceStore<WorkflowResource>
  /** The parsed workflow's tasks, or undefined when none is deployed by that ref. */
  spec(ref: string): { tasks: Record<string, unknown> } | undefined
  /** A request body as a checked Workflow resource in `namespace` (KILN_ERR_VALIDATION naming the field otherwise). */
  check(body: unknown, urlName: string | undefined, namespace: string): Promise<WorkflowResource>
  /** The refs of the workflows whose steps start the workflow `ref`. */
  usedBy(ref: string): string[]
  /** The refs of the workflows whose steps call the function `ref`. */
  callers(ref: string): string[]
}

export interface Executions {
  /** Starts an execution under a new id; `done` settles with the final record. */
  start(workflow: string, input: unknown): Promise<{ executionId: string; done: Promise<Execution> }>
  get(id: string): Promise<Execution | undefined>
  list(filter: { workflow?: string; status?: ExecutionStatus; limit?: number }): Promise<ExecutionSummary[]>
  events(id: string): Promise<ExecutionEvent[]>
  cancel(id: string): Promise<Execution>
}

/**
 * Async invocations (triggers/async), as the API shows them (plain JSON records). Ids are global; an
 * invocation belongs to its function's namespace, which every record names (`namespace`).
 */
export interface Invocations {
  get(id: string): Promise<Record<string, unknown> | undefined>
  /**
   * Summaries, newest first: `function` a ref, or `name` a function name in any of `namespaces`
   * (undefined: every namespace).
   */
  list(filter: { function?: string; name?: string; namespaces?: readonly string[]; status?: string; source?: string; limit?: number }): Promise<Record<string, unknown>[]>
  /** Queues a dead or failed invocation again (KILN_ERR_INVOCATION_NOT_FOUND, or KILN_ERR_CONFLICT in another state). */
  retry(id: string): Promise<Record<string, unknown>>
  /** Fails a queued or running invocation with KILN_ERR_CANCELLED (KILN_ERR_CONFLICT once it ended). */
  cancel(id: string): Promise<Record<string, unknown>>
}

/** Cron triggers (triggers/cron): the resources, and what the schedule has done. */
export interface CronTriggers {
  readonly store: ResourceStore<CronTriggerResource>
  /**
   * A request body as a checked CronTrigger (schema, schedule, time zone, a function of `namespace`):
   * KILN_ERR_VALIDATION naming the field. The caller puts it in its namespace.
   */
  check(body: unknown, namespace: string, urlName?: string): CronTriggerResource
  /** `{nextRun, lastRun: {at, outcome, invocation, status}}` */
  status(t: CronTriggerResource): Promise<Record<string, unknown>>
}

/** Each function's request rate, error share and p50/p99 of the last minutes (core/request-series.ts). */
export interface RequestSeriesView {
  /** The function's points by its ref (none before its first interval). */
  of(ref: string): Series
}
