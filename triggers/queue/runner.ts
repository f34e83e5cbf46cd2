// One queue trigger at work, the same for every kind of broker (the kind is the QueueConsumer).
// - It calls the function of its own namespace (a trigger in team-a, team-a's function, private or
//   not: the Invoker sends the platform's token to private ones).
// - Concurrency: at most `concurrency` messages in flight; at the cap it pulls nothing (backpressure),
//   so the broker keeps what this process could not start.
// - A message is acknowledged only after it succeeded (and its answer reached the response topic), or
//   after its last attempt failed and it reached the error topic. Nothing else is acknowledged: a stop
//   or a crash leaves it with the broker, which delivers it again (at least once).
// - Attempts are counted by the broker (its delivery count): a failed attempt before the last hands
//   the message back for a later delivery; the last goes to the error topic with the reason.
// - The broker going away: a warn log once, retries with backoff, an info log when it is back.
import type { Logger } from 'pino'
import type { QueueTriggerStatus } from '../../core/queue-trigger.js'
import { parseRef, refOf } from '../../core/refs.js'
import { QUEUE_TRIGGER_DEFAULTS, type QueueTriggerSpec } from '../../core/types.js'
import type { Invoker } from '../invoker.js'
import { Backoff, backoffMs, sleep } from './backoff.js'
import type { Delivery, QueueConsumer } from './consumer.js'
import { errorMessage, requestFor, responseMessage, type TriggerRef } from './message.js'
import { classify, type Outcome } from './outcome.js'

export interface RunnerOptions {
  /** The trigger's ref (core/refs.ts): `name` in `default`, `ns/name` elsewhere. */
  ref: string
  spec: QueueTriggerSpec
  consumer: QueueConsumer
  invoker: Invoker
  logger: Logger
  leaseMs: number
  /** How long a stop waits for calls in flight before leaving their messages to the broker (default 10 s). */
  drainMs?: number
  /** Each message's end: succeeded, retried (handed back after a failed attempt), dead (error topic), dropped (no error topic). */
  onOutcome?(outcome: 'succeeded' | 'retried' | 'dead' | 'dropped'): void
}

export type RunnerStatus = QueueTriggerStatus

/** The delay before a failed message's next delivery: 0.5 s doubling, below the lease (a held message outlives it). */
export function retryDelay(deliveries: number, leaseMs: number): number {
  return backoffMs(deliveries, 500, Math.min(30_000, leaseMs / 2))
}

export class TriggerRunner {
  private readonly t: TriggerRef
  /** The function's ref: the trigger's namespace, the spec's function. */
  private readonly fn: string
  private readonly c: QueueConsumer
  private readonly log: Logger
  private readonly cap: number
  private readonly maxRetries: number
  private readonly status_: RunnerStatus = { connected: undefined, inFlight: 0, delivered: 0, succeeded: 0, failedAttempts: 0, deadLettered: 0 }
  private stopping = false
  /** Aborted when a stop begins: waits end. */
  private readonly halt = new AbortController()
  /** Aborted when a stop has waited long enough: calls and acknowledgements still under way give up. */
  private readonly abandon = new AbortController()
  private freed: (() => void) | undefined
  private loop: Promise<void> | undefined

  constructor(private readonly o: RunnerOptions) {
    const { namespace, name } = parseRef(o.ref)
    this.t = { name, spec: o.spec }
    this.fn = refOf(namespace, o.spec.function)
    this.c = o.consumer
    this.log = o.logger.child({ trigger: o.ref, kind: o.spec.kind, topic: o.spec.topic })
    this.cap = o.spec.concurrency ?? QUEUE_TRIGGER_DEFAULTS.concurrency
    this.maxRetries = o.spec.maxRetries ?? QUEUE_TRIGGER_DEFAULTS.maxRetries
  }

  status(): RunnerStatus { return { ...this.status_ } }

  start(): void {
    this.loop ??= this.run()
  }

  /** The client library's view of the connection, and the runner's own (a pull that failed or worked). */
  connection(up: boolean, err?: unknown): void {
    const was = this.status_.connected
    if (up === was) return
    this.status_.connected = up
    if (up) {
      if (was === false) this.log.info('queue broker reachable again; consuming')
      else this.log.info('consuming')
    } else {
      this.status_.lastError = (err as Error)?.message ?? String(err)
      this.log.warn({ err }, 'queue broker unreachable; retrying with backoff (messages stay with the broker)')
    }
  }

  private async run(): Promise<void> {
    const wait = new Backoff(200, 10_000)
    let opened = false
    while (!this.stopping) {
      try {
        if (!opened) { await this.c.open(); opened = true }
        if (this.status_.inFlight >= this.cap) { await this.slotFreed(); continue }
        await this.c.pull(this.cap - this.status_.inFlight, (d) => void this.handle(d))
        this.connection(true)
        wait.reset()
      } catch (err) {
        if (this.stopping) break
        opened = false
        this.connection(false, err)
        await sleep(wait.next(), this.halt.signal)
      }
    }
  }

  private slotFreed(): Promise<void> {
    return new Promise((resolve) => { this.freed = () => { this.freed = undefined; resolve() } })
  }

  private async handle(d: Delivery): Promise<void> {
    if (this.stopping) return // pulled as the stop began: the broker delivers it again
    const s = this.status_
    s.inFlight++
    s.delivered++
    this.log.debug({ id: d.id, delivery: d.deliveries }, 'message delivered')
    const beat = setInterval(() => void d.extend().catch(() => undefined), Math.max(200, this.o.leaseMs / 3))
    beat.unref()
    try {
      const outcome = await this.attempt(d)
      if (!outcome) return
      if (outcome.kind === 'ok') {
        const to = this.o.spec.responseTopic
        if (to) await this.persist(() => this.c.publish(to, responseMessage(this.t, d, outcome.res)))
        await this.persist(() => d.ack(), this.o.leaseMs)
        s.succeeded++
        this.o.onOutcome?.('succeeded')
        return
      }
      s.failedAttempts++
      s.lastError = outcome.error
      if (d.deliveries < this.maxRetries + 1) {
        clearInterval(beat)
        await d.retry(retryDelay(d.deliveries, this.o.leaseMs)).catch((err: unknown) => this.log.debug({ err, id: d.id }, 'retry not handed back; the lease brings the message back'))
        this.o.onOutcome?.('retried')
        return
      }
      const to = this.o.spec.errorTopic
      if (to) await this.persist(() => this.c.publish(to, errorMessage(this.t, d, outcome)))
      else this.log.warn({ id: d.id, attempts: d.deliveries, status: outcome.status, error: outcome.error }, 'message failed its last attempt and the trigger has no error topic: dropped')
      await this.persist(() => d.ack(), this.o.leaseMs)
      s.deadLettered++
      this.o.onOutcome?.(to ? 'dead' : 'dropped')
    } catch (err) {
      // `persist` gave up (a stop, or an acknowledgement past the lease): the message comes back.
      this.log.debug({ err, id: d.id }, 'message left to the broker')
    } finally {
      this.log.debug({ id: d.id }, 'message done')
      clearInterval(beat)
      s.inFlight--
      this.freed?.()
    }
  }

  /** Calls the function until it answers for the message; undefined if a stop came first. */
  private async attempt(d: Delivery): Promise<Exclude<Outcome, { kind: 'unavailable' }> | undefined> {
    const wait = new Backoff(100, 5000)
    for (;;) {
      let outcome: Outcome
      try {
        outcome = classify(await this.o.invoker.invoke(this.fn, { ...requestFor(this.t, d), signal: this.abandon.signal }))
      } catch (err) {
        outcome = { kind: 'unavailable', error: (err as Error)?.message ?? String(err) }
      }
      if (outcome.kind !== 'unavailable') return outcome
      if (this.stopping) return undefined
      this.log.debug({ id: d.id, error: outcome.error }, 'the platform cannot take the call now; trying again')
      await sleep(wait.next(), this.halt.signal)
    }
  }

  /** Retries a broker operation with backoff until it works; throws once a stop has given up waiting,
   *  or after `withinMs` (an acknowledgement later than the lease is moot: the message is out again). */
  private async persist(op: () => Promise<void>, withinMs = Infinity): Promise<void> {
    const wait = new Backoff(100, 5000)
    const deadline = Date.now() + withinMs
    for (;;) {
      try { return await op() } catch (err) {
        if (this.abandon.signal.aborted || Date.now() > deadline) throw err
        this.connection(false, err)
        await sleep(wait.next(), this.abandon.signal)
      }
    }
  }

  /** Stops pulling; calls in flight finish (up to drainMs) and are acknowledged; the rest stay with the broker. */
  async stop(): Promise<void> {
    if (this.stopping) return this.loop
    this.stopping = true
    this.halt.abort()
    this.freed?.()
    await this.drained(this.o.drainMs ?? 10_000)
    this.abandon.abort()
    await this.c.close().catch((err: unknown) => this.log.debug({ err }, 'consumer did not close cleanly'))
    await this.loop
    await this.drained(2000)
  }

  private async drained(ms: number): Promise<void> {
    const deadline = Date.now() + ms
    while (this.status_.inFlight > 0 && Date.now() < deadline) await sleep(20)
  }
}
