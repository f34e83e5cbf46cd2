// The async trigger source: runs queued invocations through the Invoker. It claims due invocations
// per function with a lease (renewed while the attempt runs, so a dead platform's claims come back),
// keeps each function under its async concurrency cap, retries a crash, timeout or 5xx with
// exponential backoff and full jitter, and marks `dead` after the last attempt. A 2xx-4xx answer is
// the function's verdict: `succeeded` or `failed`. Ended invocations with an X-Callback-Url have their
// result POSTed (callback.ts).
//
// Delivery is at least once: an attempt interrupted by a stop or a crash runs again. While the state
// store is away (a Redis outage) nothing is claimed; attempts in flight finish, and their outcome is
// written when the store is back — nothing is marked failed because the store was away.
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { Counter, Gauge } from 'prom-client'
import type { StateHealth } from '../../core/state/health.js'
import type { ResourceStore } from '../../core/store/resource-store.js'
import type { FunctionResource } from '../../core/types.js'
import type { InvocationResponse, Invoker } from '../invoker.js'
import { backoffDelay, retryable } from '../retry.js'
import type { TriggerSource } from '../source.js'
import type { CallbackSender } from './callback.js'
import { ASYNC_DEFAULTS, asyncPolicy } from './policy.js'
import type { AttemptOutcome, Invocation, InvocationError, InvocationStore, StoredResult } from './store.js'

export interface DispatcherOptions {
  store: InvocationStore
  invoker: Invoker
  functions: ResourceStore<FunctionResource>
  health: StateHealth
  callbacks: CallbackSender
  logger: Logger
  /** this process, as lease holder */
  owner: string
  instanceBudget: number
  /** stored answers are cut at this many bytes */
  maxResultBytes: number
  /** the one platform of its data dir: at start, every claim left in the store is a dead run's */
  recoverAll: boolean
  /** settles when the invoker can reach the data plane (the platform listens) */
  ready: Promise<void>
  registry?: Registry
  leaseMs?: number
  /** how often due work is looked for besides the wake-ups (retries come due, other processes' accepts) */
  pollMs?: number
}

interface Running { fn: string; ctl: AbortController }

const DROP_FROM_RESULT = new Set(['connection', 'keep-alive', 'transfer-encoding', 'x-kiln-instance'])

function resultOf(res: InvocationResponse, max: number): StoredResult {
  const headers: Record<string, string | string[]> = {}
  for (const [k, v] of Object.entries(res.headers)) if (!DROP_FROM_RESULT.has(k)) headers[k] = v
  const truncated = res.body.length > max
  return { status: res.status, headers, body: truncated ? res.body.subarray(0, max) : res.body, ...(truncated ? { truncated: true } : {}) }
}

/** The attempt's error: the catalogue's code when the platform answered, else the function's status. */
export function errorOf(res: InvocationResponse): InvocationError {
  const ct = String(res.headers['content-type'] ?? '')
  if (ct.includes('json') && res.body.length < 64 * 1024) {
    try {
      const j = JSON.parse(res.body.toString('utf8')) as { error?: unknown; message?: unknown }
      if (typeof j.error === 'string' && j.error.startsWith('KILN_ERR_')) return { code: j.error, message: String(j.message ?? j.error), status: res.status }
    } catch { /* the function's own JSON */ }
  }
  return { code: 'KILN_ERR_FUNCTION_ERROR', message: `the function answered ${res.status}`, status: res.status }
}

export class AsyncDispatcher implements TriggerSource {
  readonly kind = 'async'
  private readonly running = new Map<string, Running>()
  private readonly perFn = new Map<string, number>()
  private readonly attempts = new Set<Promise<void>>()
  private timers: NodeJS.Timeout[] = []
  private passing: Promise<void> | undefined
  private again = false
  private stopped = true
  private prunedAt = 0
  private readonly leaseMs: number
  private readonly pollMs: number
  private readonly outcomes?: Counter<'function' | 'outcome'>

  constructor(private readonly o: DispatcherOptions) {
    this.leaseMs = o.leaseMs ?? 30_000
    this.pollMs = o.pollMs ?? 500
    if (o.registry) {
      this.outcomes = new Counter({ name: 'kiln_async_attempts_total', help: 'Async attempts ended, by outcome (succeeded, failed, retried, dead)', labelNames: ['function', 'outcome'], registers: [o.registry] })
      const perFn = this.perFn
      new Gauge({ name: 'kiln_async_inflight', help: 'Async invocations running now, per function', labelNames: ['function'], registers: [o.registry], collect() { this.reset(); for (const [fn, n] of perFn) this.set({ function: fn }, n) } })
    }
  }

  async start(): Promise<void> {
    this.stopped = false
    void this.o.ready.then(async () => {
      if (this.stopped) return
      await this.housekeeping(this.o.recoverAll)
      if (this.stopped) return
      this.timers.push(setInterval(() => this.poke(), this.pollMs))
      // Callbacks due for a retry (a callback is also sent at once when its invocation ends).
      this.timers.push(setInterval(() => void this.sendCallbacks(), 1000))
      this.timers.push(setInterval(() => void this.renew(), Math.max(1000, Math.floor(this.leaseMs / 3))))
      this.timers.push(setInterval(() => void this.housekeeping(false), 10_000))
      for (const t of this.timers) t.unref()
      this.poke()
    })
    // Back from an outage: look for work at once.
    this.o.health.on('change', this.onHealth)
  }

  private readonly onHealth = (up: boolean) => {
    if (!up) return
    this.poke()
    // Once the commands kept through the outage are sent: a claim whose reply the reconnect lost is
    // held by this dispatcher but runs nowhere; give it back now rather than after its lease.
    setTimeout(() => void this.housekeeping(false), 2000).unref()
  }

  async reconcile(): Promise<void> { this.poke() }

  /** Looks for due work soon (coalesced): after an accept, an attempt's end, a timer. */
  poke(): void {
    if (this.stopped) return
    if (this.passing) { this.again = true; return }
    this.passing = this.pass()
      .catch((err: Error) => this.o.logger.error({ err }, 'async dispatch pass failed'))
      .finally(() => {
        this.passing = undefined
        if (this.again) { this.again = false; setImmediate(() => this.poke()) }
      })
  }

  /** Fails a queued or running invocation with KILN_ERR_CANCELLED, aborting its attempt if it runs here. */
  async cancel(id: string, message: string): Promise<boolean> {
    const done = await this.o.store.cancel(id, { code: 'KILN_ERR_CANCELLED', message }, Date.now())
    const r = this.running.get(id)
    if (r) r.ctl.abort(new Error(message))
    if (done) void this.sendCallbacks()
    return done
  }

  private async pass(): Promise<void> {
    if (!this.o.health.up) return
    const now = Date.now()
    for (const fn of await this.o.store.dueFunctions(now)) {
      if (this.stopped || !this.o.health.up) return
      const spec = this.o.functions.get(fn)?.spec
      // A deleted function's queue still drains: its attempts answer 404 and fail.
      const cap = spec ? asyncPolicy(spec, this.o.instanceBudget).concurrency : 1
      const free = cap - (this.perFn.get(fn) ?? 0)
      if (free <= 0) continue
      const want = Math.min(free, 100)
      const claimed = await this.o.store.claim(fn, want, this.o.owner, now, now + this.leaseMs)
      for (const inv of claimed) this.launch(inv)
      if (claimed.length === want) this.again = true
    }
  }

  private async sendCallbacks(): Promise<void> {
    if (this.stopped || !this.o.health.up) return
    await this.o.callbacks.pass().catch((err: Error) => this.o.logger.warn({ err }, 'callbacks not sent'))
  }

  private launch(inv: Invocation): void {
    if (this.stopped) return
    const ctl = new AbortController()
    this.running.set(inv.id, { fn: inv.function, ctl })
    this.perFn.set(inv.function, (this.perFn.get(inv.function) ?? 0) + 1)
    const p = this.attempt(inv, ctl.signal)
      .catch((err: Error) => this.o.logger.error({ err, invocation: inv.id }, 'async attempt could not be recorded'))
      .finally(() => {
        this.attempts.delete(p)
        this.running.delete(inv.id)
        const n = (this.perFn.get(inv.function) ?? 1) - 1
        if (n <= 0) this.perFn.delete(inv.function)
        else this.perFn.set(inv.function, n)
        this.poke()
      })
    this.attempts.add(p)
  }

  private async attempt(inv: Invocation, signal: AbortSignal): Promise<void> {
    const req = inv.request
    let res: InvocationResponse
    try {
      res = await this.o.invoker.invoke(inv.function, {
        method: req.method, path: req.path, body: req.body, signal,
        headers: { ...req.headers, 'x-kiln-invocation-id': inv.id, 'x-kiln-attempt': String(inv.attempts) },
      })
    } catch (err) {
      // Stopped or cancelled here (the claim is released, or already ended), or the invoker closed.
      if (!signal.aborted) this.o.logger.debug({ err, invocation: inv.id }, 'async attempt abandoned')
      return
    }
    const outcome = this.outcome(inv, res)
    const held = await this.o.store.finish(inv.id, this.o.owner, outcome)
    if (!held) {
      this.o.logger.info({ invocation: inv.id, function: inv.function }, 'async attempt ended after its claim was lost (cancelled, or its lease ran out); its outcome is dropped')
      return
    }
    const label = outcome.status === 'queued' ? 'retried' : outcome.status
    this.outcomes?.inc({ function: inv.function, outcome: label })
    if (outcome.status === 'dead') this.o.logger.warn({ invocation: inv.id, function: inv.function, attempts: inv.attempts, error: outcome.error }, 'async invocation is dead: every attempt failed')
    if (outcome.status !== 'queued' && inv.callback) void this.sendCallbacks()
  }

  private outcome(inv: Invocation, res: InvocationResponse): AttemptOutcome {
    const now = Date.now()
    const result = resultOf(res, this.o.maxResultBytes)
    if (!retryable(res.status)) {
      return res.status < 400 ? { status: 'succeeded', now, result } : { status: 'failed', now, result, error: errorOf(res) }
    }
    const spec = this.o.functions.get(inv.function)?.spec
    const policy = spec ? asyncPolicy(spec, this.o.instanceBudget) : { retries: 0, backoff: { baseMs: 0, maxMs: 0 } }
    const error = errorOf(res)
    if (inv.attempts <= policy.retries) return { status: 'queued', now, due: now + backoffDelay(policy.backoff, inv.attempts), result, error }
    return { status: 'dead', now, result, error }
  }

  private async renew(): Promise<void> {
    if (this.running.size === 0) return
    await this.o.store.renew(this.o.owner, [...this.running.keys()], Date.now() + this.leaseMs)
      .catch((err: Error) => this.o.logger.warn({ err }, 'async leases not renewed'))
  }

  /**
   * Claims whose holder died come back, and so do claims this dispatcher holds without running them;
   * ended invocations past their retention go (hourly).
   */
  private async housekeeping(all: boolean): Promise<void> {
    if (this.stopped || !this.o.health.up) return
    const now = Date.now()
    try {
      let back = await this.o.store.recover(now, all ? { all: true } : {})
      // Only between passes: a claim under way is known here once its pass has launched it.
      if (!all && this.passing === undefined) back += await this.o.store.recover(now, { owner: this.o.owner, keep: [...this.running.keys()] })
      if (back > 0) this.o.logger.warn({ invocations: back }, 'async invocations left running by a stopped platform, or by a lost claim, are queued again')
      if (now - this.prunedAt > 3_600_000) {
        this.prunedAt = now
        await this.o.store.prune(now - ASYNC_DEFAULTS.retentionMs, now)
      }
    } catch (err) {
      this.o.logger.warn({ err }, 'async housekeeping failed')
    }
  }

  /** Stops claiming; attempts in flight are abandoned and their claims released (they run again). */
  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    this.o.health.off('change', this.onHealth)
    for (const t of this.timers) clearInterval(t)
    this.timers = []
    for (const r of this.running.values()) r.ctl.abort(new Error('the platform is stopping'))
    await Promise.allSettled([...this.attempts])
    if (this.passing && this.o.health.up) await this.passing
    if (this.o.health.up) {
      await this.o.store.recover(Date.now(), { owner: this.o.owner }).catch((err: Error) => this.o.logger.warn({ err }, 'async claims not released; they come back when their lease ends'))
    }
  }
}
