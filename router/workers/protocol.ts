// What the platform's process and its router processes say to each other over the IPC channel. Messages
// are small arrays (no keys to serialize) sent in batches, one batch per turn of the sender's event loop.
// A request's slot is a grant: the router process names it (`gid`, its own counter), the platform's
// process keeps the instance it stands for until the release.
import type { IncomingHttpHeaders } from 'node:http'
import type { Outcome } from '../../executor/executor.js'

/** Router process → platform: take a slot for a function request (`retry`: 1 when it replays a failed one). */
export type AcquireMsg = ['a', gid: number, name: string, alias: string | null, version: number, path: string, headers: IncomingHttpHeaders, retry: 0 | 1]
/**
 * Router process → platform: the slot is free again. `rttMs`: send to answer, -1 when unknown;
 * `answered`: the status the caller got and `ms` since the request arrived (-1: none yet: it is retried).
 */
export type ReleaseMsg = ['r', gid: number, outcome: Outcome, status: number, rttMs: number, answered: number, ms: number]
/** Router process → platform: why did the instance of this grant fail (asked before its release)? */
export type ExitMsg = ['x', gid: number]
/** Router process → platform, every quarter second: its event loop's utilization (the autoscaler's "router busy"). */
export type LoadMsg = ['u', utilization: number]
export type FromRouter = AcquireMsg | ReleaseMsg | ExitMsg | LoadMsg

/**
 * Platform → router process: a slot on instance `id` (reached at `url`, or its Unix socket), the path the
 * instance sees, the version, and the instance's requests in flight once this one is counted.
 */
export type GrantMsg = ['g', gid: number, id: string, url: string, socket: string | null, path: string, fnVersion: number, timeoutMs: number, maxBodyBytes: number, dropAuthorization: 0 | 1, inflight: number]
/** Platform → router process: refused (the catalogue error to answer; the refusal is already counted). */
export type RefuseMsg = ['e', gid: number, code: string, message: string, details: Record<string, unknown> | null]
export type ExitReasonMsg = ['xr', gid: number, oomKilled: boolean | null, reason: string | null]
export type ToRouter = GrantMsg | RefuseMsg | ExitReasonMsg

/** Control messages, each on its own: a connection handed over (with its socket), a stop, a router process's start. */
export const CONN = 'conn'
export const STOP = 'stop'
export const READY = 'ready'

/** What a router process is started with (env KILN_ROUTER_WORKER, JSON). */
export interface RouterWorkerConfig {
  index: number
  /** The platform's own listener (a Unix socket): everything a router process does not serve itself goes there. */
  platformSocket: string
  logLevel: string
  accessLog: boolean
}

/** Queues messages and sends them as one batch when the current turn of the event loop ends. */
export class Outbox<M> {
  private pending: M[] = []
  private scheduled = false
  constructor(private readonly send: (batch: M[]) => void) {}

  push(m: M): void {
    this.pending.push(m)
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(this.flush)
    }
  }

  readonly flush = (): void => {
    this.scheduled = false
    if (this.pending.length === 0) return
    const batch = this.pending
    this.pending = []
    this.send(batch)
  }
}
