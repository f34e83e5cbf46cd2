// What one function counts for its metrics (core/metrics.ts reads it at scrape time) and what a trace
// of a request that waited needs to know about the specialization it waited for. Kept on the
// function's state: the request path finds it through the state it already holds, and counting is
// an array increment (no label object, no map lookup, no allocation).
import { Buckets, COLD_START_KINDS, DURATION_BUCKETS, SPECIALIZATION_BUCKETS, statusClass, type ColdStartKind, type FunctionCounters } from '../core/metrics.js'
import type { InstanceRecord } from '../poolmgr/instance.js'

/** One load of the function's code into an instance, in performance.now() milliseconds. */
export interface LoadTiming { startedAt: number; endedAt: number; kind?: ColdStartKind }

export class FunctionStats implements FunctionCounters {
  readonly requests = new Float64Array(5)
  readonly duration = new Buckets(DURATION_BUCKETS)
  readonly queueWait = new Buckets(DURATION_BUCKETS)
  readonly specialization = new Buckets(SPECIALIZATION_BUCKETS)
  readonly coldStarts = new Float64Array(COLD_START_KINDS.length)
  /** Requests refused with a full queue, instances ejected, requests retried on another instance. */
  rejected = 0
  ejections = 0
  retries = 0
  /** The latest load of each instance (for the `kiln.specialize` span of the request that waited on it). */
  readonly loads = new WeakMap<InstanceRecord, LoadTiming>()

  /** A request answered with `status`, `ms` after the router received it. */
  answered(status: number, ms: number): void {
    this.requests[statusClass(status)]++
    this.duration.observe(ms / 1000)
  }

  /** A request waited `ms` for an instance slot. */
  waited(ms: number): void {
    this.queueWait.observe(ms / 1000)
  }

  loaded(rec: InstanceRecord, startedAt: number, endedAt: number): void {
    this.specialization.observe((endedAt - startedAt) / 1000)
    this.loads.set(rec, { startedAt, endedAt })
  }

  coldStart(rec: InstanceRecord, kind: ColdStartKind): void {
    this.coldStarts[COLD_START_KINDS.indexOf(kind)]++
    const t = this.loads.get(rec)
    if (t !== undefined) t.kind = kind
  }
}

/**
 * Which kind of cold start a request paid: the strategy keeps instances ready and had none (warm_miss),
 * the instance came out of the generic pool (pool), or it was booted for this request (no_pool: the
 * pool was empty, or the strategy boots its own). `provisionStartedAt` is Date.now() when the request's
 * specialization began: an instance started after that was booted for it.
 */
export function coldStartKind(keepsWarm: boolean, rec: InstanceRecord, provisionStartedAt: number): ColdStartKind {
  if (keepsWarm) return 'warm_miss'
  return rec.inst.startedAt >= provisionStartedAt ? 'no_pool' : 'pool'
}
