// The platform's side of one router process: its requests for slots go through the same checks and the
// same acquire as the platform's own data plane (data-plane.ts `admit`, Executor.tryAcquire/acquire: FIFO
// queue, adaptive in-flight limit, autoscaler, reuse policies), and its releases reach Executor.release
// with the round trip it measured. Every grant is kept until its release: a router process that dies
// gives all of its slots back (`close`).
import type { Logger } from 'pino'
import { KilnError } from '../../core/errors.js'
import type { Executor } from '../../executor/executor.js'
import type { FunctionState } from '../../executor/function-state.js'
import type { InstanceRecord } from '../../poolmgr/instance.js'
import type { DataPlane } from '../data-plane.js'
import { errorOf } from '../send-error.js'
import { Outbox, type AcquireMsg, type FromRouter, type ReleaseMsg, type ToRouter } from './protocol.js'

interface Grant { rec: InstanceRecord; fs: FunctionState; inflight: number }

export class RouterBroker {
  private readonly grants = new Map<number, Grant>()
  private readonly out: Outbox<ToRouter>
  private closed = false
  /** Requests this router process was given a slot for (GET /healthz shows the spread). */
  served = 0
  /** Its event loop's utilization, as it last reported it. */
  utilization: number | undefined

  constructor(
    private readonly dp: Pick<DataPlane, 'admit'>,
    private readonly executor: Executor,
    send: (batch: ToRouter[]) => void,
    private readonly logger: Logger,
  ) {
    this.out = new Outbox(send)
  }

  /** Slots held now (tests read it; 0 once every request has ended). */
  get held(): number { return this.grants.size }

  onBatch(batch: FromRouter[]): void {
    for (const m of batch) {
      try {
        if (m[0] === 'a') this.acquire(m)
        else if (m[0] === 'r') this.release(m)
        else if (m[0] === 'x') this.exitReason(m[1])
        else if (m[0] === 'u') this.utilization = m[1]
      } catch (err) {
        // A message this side cannot handle must not take the platform down; the request fails alone.
        this.logger.error({ err, message: m[0] }, 'router process message failed')
        if (m[0] === 'a') this.refuse(m[1], errorOf(err))
      }
    }
  }

  private acquire(m: AcquireMsg): void {
    const [, gid, name, alias, version, path, headers, retry] = m
    const startedAt = performance.now()
    const a = this.dp.admit(name, alias ?? undefined, version, path, headers)
    if (a.error !== undefined) {
      a.fs?.stats.answered(a.error.status, 0)
      this.refuse(gid, a.error)
      return
    }
    const { fs } = a
    if (retry === 1) fs.stats.retries++
    const grant = (rec: InstanceRecord): void => {
      this.grants.set(gid, { rec, fs, inflight: rec.inflight })
      this.served++
      const inst = rec.inst
      this.out.push(['g', gid, rec.id, inst.url, inst.socketPath ?? null, a.path, fs.fnVersion, fs.timeoutMs, a.maxBodyBytes, a.isPrivate ? 1 : 0, rec.inflight])
    }
    const rec = this.executor.tryAcquire(fs)
    if (rec !== undefined) {
      grant(rec)
      return
    }
    this.executor.acquire(fs).then(
      (r) => {
        fs.stats.waited(performance.now() - startedAt)
        if (this.closed) this.executor.release(r, 'aborted')
        else grant(r)
      },
      (err) => {
        const e = errorOf(err)
        fs.stats.answered(e.status, performance.now() - startedAt)
        this.refuse(gid, e)
      },
    )
  }

  private refuse(gid: number, e: KilnError): void {
    this.out.push(['e', gid, e.code, e.message, e.details ?? null])
  }

  private release(m: ReleaseMsg): void {
    const [, gid, outcome, status, rttMs, answered, ms] = m
    const g = this.grants.get(gid)
    if (g === undefined) return
    this.grants.delete(gid)
    this.executor.release(g.rec, outcome, status, rttMs >= 0 ? performance.now() - rttMs : -1, g.inflight)
    if (answered >= 0) g.fs.stats.answered(answered, ms)
  }

  private exitReason(gid: number): void {
    const g = this.grants.get(gid)
    const answer = g === undefined ? Promise.resolve(undefined) : this.executor.exitOf(g.rec, 1000)
    answer.then(
      (exit) => this.out.push(['xr', gid, exit?.oomKilled ?? null, exit?.reason ?? null]),
      () => this.out.push(['xr', gid, null, null]),
    )
  }

  /** The router process is gone: every slot it held is given back, and late grants are released at once. */
  close(): void {
    this.closed = true
    for (const g of this.grants.values()) this.executor.release(g.rec, 'aborted')
    this.grants.clear()
  }
}
