// Queue triggers as a TriggerSource: one runner per QueueTrigger resource, kept level-triggered with
// the store (a new trigger starts consuming, a deleted one stops, a changed one restarts). Triggers,
// their status and metrics are keyed by the trigger's ref (core/refs.ts): two namespaces' triggers of
// one name are two consumers. The group or durable consumer stays with the broker when a trigger is
// deleted, so a trigger re-added under the same name (in the same namespace) resumes where it stopped.
import type { Logger } from 'pino'
import { Counter, Gauge } from 'prom-client'
import type { Metrics } from '../../core/metrics.js'
import { refOfMeta } from '../../core/refs.js'
import type { ResourceStore } from '../../core/store/resource-store.js'
import type { QueueKind, QueueTriggerResource } from '../../core/types.js'
import type { Invoker } from '../invoker.js'
import type { TriggerSource } from '../source.js'
import type { ConsumerFactory } from './consumer.js'
import { KINDS } from './kinds.js'
import { TriggerRunner, type RunnerStatus } from './runner.js'

export interface QueueSourceOptions {
  store: ResourceStore<QueueTriggerResource>
  invoker: Invoker
  logger: Logger
  /** How long a message held by a stopped process stays unavailable to others (config queueLease). */
  leaseMs: number
  /** This process's name among the consumers of a group: stable across its restarts where it can be. */
  consumer: string
  metrics?: Metrics
  /** How long a stop waits for calls in flight (default 10 s). */
  drainMs?: number
  kinds?: Record<QueueKind, ConsumerFactory>
}

interface Running { key: string; runner: TriggerRunner }

function key(t: QueueTriggerResource): string {
  return JSON.stringify([t.spec, t.metadata.createdAt])
}

export class QueueTriggerSource implements TriggerSource {
  readonly kind = 'queue'
  private readonly running = new Map<string, Running>()
  private readonly kinds: Record<QueueKind, ConsumerFactory>
  private readonly log: Logger
  private unwatch: (() => void) | undefined
  private chain: Promise<void> = Promise.resolve()
  private serving = false
  private countOutcome: ((trigger: string, outcome: string) => void) | undefined

  constructor(private readonly o: QueueSourceOptions) {
    this.kinds = o.kinds ?? KINDS
    this.log = o.logger.child({ part: 'queue-triggers' })
    if (o.metrics) this.registerMetrics(o.metrics)
  }

  async start(): Promise<void> {
    this.serving = true
    this.unwatch = this.o.store.watch(() => void this.reconcile())
    await this.reconcile()
  }

  /** Serialized: store events arriving together apply one after another. */
  reconcile(): Promise<void> {
    this.chain = this.chain.then(() => this.apply()).catch((err: unknown) => this.log.error({ err }, 'queue triggers not reconciled'))
    return this.chain
  }

  private async apply(): Promise<void> {
    if (!this.serving) return
    const want = new Map(this.o.store.list().map((t) => [refOfMeta(t.metadata), t]))
    const gone: Running[] = []
    for (const [ref, r] of this.running) {
      const t = want.get(ref)
      if (!t || key(t) !== r.key) { this.running.delete(ref); gone.push(r) }
    }
    await Promise.all(gone.map((r) => r.runner.stop()))
    for (const [ref, t] of want) {
      if (this.running.has(ref)) continue
      try {
        this.running.set(ref, { key: key(t), runner: await this.run(ref, t) })
      } catch (err) {
        this.log.error({ err, trigger: ref }, 'queue trigger not started')
      }
    }
  }

  private async run(ref: string, t: QueueTriggerResource): Promise<TriggerRunner> {
    const factory = this.kinds[t.spec.kind]
    if (!factory) throw new Error(`no consumer for queue kind "${t.spec.kind}"`)
    const runner: TriggerRunner = new TriggerRunner({
      ref, spec: t.spec, invoker: this.o.invoker, logger: this.o.logger, leaseMs: this.o.leaseMs, drainMs: this.o.drainMs,
      consumer: await factory({
        ref, spec: t.spec, consumer: this.o.consumer, leaseMs: this.o.leaseMs,
        createdAt: new Date(t.metadata.createdAt ?? Date.now()),
        onConnection: (up, err) => runner.connection(up, err),
      }),
      onOutcome: (outcome) => this.countOutcome?.(ref, outcome),
    })
    runner.start()
    return runner
  }

  /** What the runner of the trigger `ref` in this process is doing; undefined when it runs none. */
  status(ref: string): RunnerStatus | undefined {
    return this.running.get(ref)?.runner.status()
  }

  async stop(): Promise<void> {
    this.serving = false
    this.unwatch?.()
    await this.chain
    const all = [...this.running.values()]
    this.running.clear()
    await Promise.all(all.map((r) => r.runner.stop()))
  }

  private registerMetrics(m: Metrics): void {
    const running = this.running
    const perTrigger = (name: string, help: string, value: (s: RunnerStatus) => number) => new Gauge({
      name, help, labelNames: ['trigger'], registers: [m.registry],
      collect() {
        this.reset()
        for (const [trigger, r] of running) this.set({ trigger }, value(r.runner.status()))
      },
    })
    perTrigger('kiln_queue_trigger_in_flight', 'Messages of a queue trigger being handled by this process', (s) => s.inFlight)
    perTrigger('kiln_queue_trigger_broker_up', '1 while the queue trigger reaches its broker', (s) => (s.connected ? 1 : 0))
    const messages = new Counter({ name: 'kiln_queue_trigger_messages_total', help: 'Messages a queue trigger finished in this process: succeeded, retried (handed back after a failed attempt), dead (to the error topic), dropped (no error topic)', labelNames: ['trigger', 'outcome'], registers: [m.registry] })
    this.countOutcome = (trigger, outcome) => messages.inc({ trigger, outcome })
  }
}
