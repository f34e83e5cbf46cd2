// The durable state of async invocations: one interface, two implementations (sqlite-store.ts on the
// embedded default, redis-store.ts in the distributed mode) run against one test suite
// (test/integration/triggers/invocation-store.test.ts).
//
// An invocation is `queued` (waiting for its due time), `running` (claimed by one dispatcher under a
// lease it renews), then `succeeded`, `failed` (the function's verdict, or cancelled) or `dead` (every
// attempt allowed failed). A claim whose lease ran out (its platform died) goes back to `queued`
// and its interrupted attempt runs again under the same number. Idempotency keys live here too: the
// check for an earlier invocation with the same key and the creation of a new one must be one atomic
// step, which two separate stores could not give without a second write and a sweeper.

import { nameOf, namespaceOf } from '../../core/refs.js'

export type InvocationStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'dead'
export const INVOCATION_STATUSES: readonly InvocationStatus[] = ['queued', 'running', 'succeeded', 'failed', 'dead']
export const FINAL_STATUSES: ReadonlySet<InvocationStatus> = new Set(['succeeded', 'failed', 'dead'])

export interface StoredRequest {
  method: string
  /** what the function sees after /fn/NAME, with the query */
  path: string
  headers: Record<string, string>
  body: Buffer
}

export interface StoredResult {
  status: number
  headers: Record<string, string | string[]>
  body: Buffer
  /** the answer was longer than the async body limit; `body` holds its start */
  truncated?: boolean
}

export interface InvocationError {
  code: string
  message: string
  /** the HTTP status of the attempt's answer, when there was one */
  status?: number
}

export type CallbackState = 'pending' | 'delivered' | 'failed'

export interface CallbackInfo {
  url: string
  /** absent until the invocation ends */
  state?: CallbackState
  attempts: number
  error?: string
  /** ms since the epoch */
  deliveredAt?: number
}

export interface Invocation {
  id: string
  function: string
  status: InvocationStatus
  /** attempts started; a claimed invocation's current attempt is this number */
  attempts: number
  /** where it came from: `http`, `cron/NAME` */
  source: string
  /** ms since the epoch */
  createdAt: number
  startedAt?: number
  finishedAt?: number
  /** queued: the earliest time its next attempt may start */
  due: number
  /** running: the dispatcher that holds it */
  owner?: string
  request: StoredRequest
  result?: StoredResult
  error?: InvocationError
  callback?: CallbackInfo
}

export interface InvocationSummary {
  id: string
  function: string
  status: InvocationStatus
  attempts: number
  source: string
  createdAt: number
  finishedAt?: number
}

export interface NewInvocation {
  id: string
  function: string
  source: string
  request: StoredRequest
  callbackUrl?: string
  /** ms since the epoch: creation time, and when it is first due */
  now: number
}

export interface InvocationFilter {
  /** the function's ref */
  function?: string
  /** only functions of these namespaces (undefined: every namespace) */
  namespaces?: readonly string[]
  /** only functions of this name, in whichever namespace `namespaces` allows */
  name?: string
  status?: InvocationStatus
  source?: string
  /** default 100 */
  limit?: number
}

/** Does the function `ref` pass the filter's namespaces and name? (Stores check these row by row: refs are taken apart only by core/refs.ts.) */
export function functionMatches(ref: string, f: InvocationFilter): boolean {
  if (f.namespaces !== undefined && !f.namespaces.includes(namespaceOf(ref))) return false
  return f.name === undefined || nameOf(ref) === f.name
}

/** How an attempt ended: for good, or queued again for a retry at `due`. */
export type AttemptOutcome =
  | { status: 'succeeded' | 'failed' | 'dead'; now: number; result?: StoredResult; error?: InvocationError }
  | { status: 'queued'; now: number; due: number; result?: StoredResult; error?: InvocationError }

export type CallbackOutcome =
  | { state: 'delivered' | 'failed'; now: number; error?: string }
  | { state: 'pending'; due: number; error: string }

export interface InvocationStore {
  /**
   * Stores a new queued invocation, durably, before it resolves. With `idempotency`, when an
   * invocation of the same function was accepted under the same key within `ttlMs`, nothing is
   * stored and that invocation's id comes back with `created: false`.
   */
  accept(inv: NewInvocation, idempotency?: { key: string; ttlMs: number }): Promise<{ id: string; created: boolean }>
  get(id: string): Promise<Invocation | undefined>
  /** Summaries, newest first. */
  list(filter?: InvocationFilter): Promise<InvocationSummary[]>
  /** Functions that have queued invocations due at `now`. */
  dueFunctions(now: number): Promise<string[]>
  /**
   * Claims up to `n` queued invocations of `fn` due at `now`, oldest due first: each becomes
   * `running`, held by `owner` until `leaseUntil`, with `attempts` one higher.
   */
  claim(fn: string, n: number, owner: string, now: number, leaseUntil: number): Promise<Invocation[]>
  /** Extends `owner`'s leases on `ids` (those it still holds). */
  renew(owner: string, ids: string[], leaseUntil: number): Promise<void>
  /**
   * Puts claims back in the queue, due at `now`, their interrupted attempt to run again under its
   * number: those whose lease ended before `now`; or with `owner` every claim of that owner but those
   * in `keep` (a dispatcher stopping, or finding claims it does not know of: a claim whose reply a
   * reconnect lost); or with `all` every claim (the one platform of a data dir restarting).
   * Returns how many.
   */
  recover(now: number, opts?: { owner?: string; keep?: string[]; all?: boolean }): Promise<number>
  /** Ends the attempt `owner` holds on `id`; false (and nothing written) when it no longer holds it. */
  finish(id: string, owner: string, outcome: AttemptOutcome): Promise<boolean>
  /**
   * Queues a `dead` or `failed` invocation again, due at `now`, with its attempts, result and error
   * cleared (its callback is sent again when it ends). Undefined for an unknown id; the invocation
   * unchanged when it is not dead or failed.
   */
  redrive(id: string, now: number): Promise<Invocation | undefined>
  /** Fails a queued or running invocation with `error` (its holder's finish then returns false); false if it had ended. */
  cancel(id: string, error: InvocationError, now: number): Promise<boolean>
  /**
   * Claims up to `n` invocations whose callback is due at `now`, until `leaseUntil` (a claimer that
   * dies lets them come due again then); their callback attempts are one higher.
   */
  claimCallbacks(n: number, now: number, leaseUntil: number): Promise<Invocation[]>
  finishCallback(id: string, outcome: CallbackOutcome): Promise<void>
  /** Deletes invocations that ended before `before` (and idempotency keys past their time); how many. */
  prune(before: number, now: number): Promise<number>
  close(): Promise<void>
}
