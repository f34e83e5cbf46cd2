// The cron trigger source: starts each CronTrigger's function on its schedule. A trigger calls the
// function of its own namespace (`refOf(ns, fn)`) through the acceptor an async HTTP call uses; a
// private function is then called with the platform's own token when the run is dispatched. A run is
// an async invocation (source `cron/NAME`), so it gets the function's retries, dead letters,
// callbacks and shows in `kiln inv list` of that namespace. Triggers, their progress and leases are
// keyed by the trigger's ref (core/refs.ts): two namespaces' triggers of one name are two schedules.
// The slot last handled is stored (cron store), so a restarted platform catches up a missed run at
// most once: the first missed slot starts one run and every slot up to now counts as handled. A run's
// idempotency key is its trigger and slot: a crash between starting it and storing the progress
// starts nothing twice.
//
// Concurrency policy, when the previous run of the trigger is still queued or running at a slot:
// `allow` starts another, `forbid` skips the slot, `replace` cancels the previous run and starts one.
// With several platform processes on one Redis, a lease per trigger makes one of them run it.
import type { Logger } from 'pino'
import { KilnError } from '../../core/errors.js'
import type { StateHealth } from '../../core/state/health.js'
import { refOf, refOfMeta } from '../../core/refs.js'
import type { ResourceStore } from '../../core/store/resource-store.js'
import type { CronTriggerResource } from '../../core/types.js'
import type { Acceptor } from '../async/accept.js'
import type { InvocationStore } from '../async/store.js'
import type { TriggerSource } from '../source.js'
import { parseSchedule, type Schedule } from './schedule.js'
import type { CronProgress, CronStore } from './store.js'

export interface CronSourceOptions {
  triggers: ResourceStore<CronTriggerResource>
  progress: CronStore
  invocations: InvocationStore
  acceptor: Acceptor
  /** fails a previous run (concurrency: replace) */
  cancel(id: string, message: string): Promise<boolean>
  health: StateHealth
  logger: Logger
  /** this process, as lease holder */
  owner: string
  /** settles when runs can be dispatched (the platform listens) */
  ready: Promise<void>
  leaseMs?: number
}

interface Entry { ref: string; trigger: CronTriggerResource; schedule: Schedule; next?: number; leaseUntil: number }

/** When a trigger's runs are counted from before its first run: its creation. */
const anchorOf = (t: CronTriggerResource) => Date.parse(t.metadata.createdAt ?? '') || Date.now()

export class CronSource implements TriggerSource {
  readonly kind = 'cron'
  private readonly entries = new Map<string, Entry>()
  private timer: NodeJS.Timeout | undefined
  private unwatch: (() => void) | undefined
  private ticking: Promise<void> | undefined
  private stopped = true
  private readonly leaseMs: number

  constructor(private readonly o: CronSourceOptions) {
    this.leaseMs = o.leaseMs ?? 15_000
  }

  async start(): Promise<void> {
    this.stopped = false
    this.unwatch = this.o.triggers.watch((ev) => {
      if (ev.type === 'delete') void this.o.progress.delete(refOfMeta(ev.object.metadata)).catch(() => undefined)
      void this.reconcile()
    })
    void this.o.ready.then(() => this.reconcile())
  }

  /** Re-reads the triggers and each one's progress; schedules the next tick. */
  async reconcile(): Promise<void> {
    if (this.stopped) return
    const seen = new Set<string>()
    for (const t of this.o.triggers.list()) {
      const ref = refOfMeta(t.metadata)
      seen.add(ref)
      const old = this.entries.get(ref)
      if (old && old.trigger.metadata.generation === t.metadata.generation) continue
      try {
        const schedule = parseSchedule(t.spec.schedule, { timezone: t.spec.timezone, anchor: anchorOf(t) })
        this.entries.set(ref, { ref, trigger: t, schedule, leaseUntil: old?.leaseUntil ?? 0 })
      } catch (err) {
        // Refused at creation; a stale stored trigger cannot stop the others.
        this.o.logger.warn({ trigger: ref, err }, 'cron trigger has an invalid schedule; it does not run')
        this.entries.delete(ref)
      }
    }
    for (const ref of [...this.entries.keys()]) if (!seen.has(ref)) this.entries.delete(ref)
    if (!this.o.health.up) return this.arm()
    for (const e of this.entries.values()) {
      if (e.next !== undefined) continue
      const p = await this.o.progress.get(e.ref).catch(() => undefined)
      e.next = e.schedule.next(p?.lastSlot ?? anchorOf(e.trigger))
    }
    this.arm()
  }

  /** The next run of a trigger (by ref), as this process sees it (undefined when none is scheduled). */
  nextRun(ref: string): number | undefined {
    return this.entries.get(ref)?.next
  }

  private arm(): void {
    if (this.stopped) return
    clearTimeout(this.timer)
    let soonest = Date.now() + 1000
    for (const e of this.entries.values()) if (e.next !== undefined && e.next < soonest) soonest = e.next
    this.timer = setTimeout(() => this.tick(), Math.max(0, soonest - Date.now()))
    this.timer.unref()
  }

  private tick(): void {
    if (this.stopped || this.ticking) return
    this.ticking = this.runDue()
      .catch((err: Error) => this.o.logger.error({ err }, 'cron tick failed'))
      .finally(() => {
        this.ticking = undefined
        this.arm()
      })
  }

  private async runDue(): Promise<void> {
    // While the state store is away nothing is handled; the slots missed meanwhile are caught up once.
    if (!this.o.health.up) return
    for (const e of [...this.entries.values()]) {
      if (this.stopped) return
      const now = Date.now()
      if (e.next === undefined) e.next = e.schedule.next((await this.o.progress.get(e.ref))?.lastSlot ?? anchorOf(e.trigger))
      if (e.next === undefined || e.next > now) continue
      if (!(await this.holdLease(e, now))) {
        // Another process runs this schedule: follow its progress.
        e.next = undefined
        continue
      }
      await this.fire(e, now)
    }
  }

  private async holdLease(e: Entry, now: number): Promise<boolean> {
    if (e.leaseUntil - now > this.leaseMs / 2) return true
    const held = await this.o.progress.lease(e.ref, this.o.owner, now, now + this.leaseMs)
    e.leaseUntil = held ? now + this.leaseMs : 0
    return held
  }

  private async fire(e: Entry, now: number): Promise<void> {
    const t = e.trigger
    const name = t.metadata.name
    const ref = e.ref
    // The function of the trigger's own namespace.
    const fn = refOf(t.metadata.namespace, t.spec.function)
    // Progress as stored (another process may have run it before this one took the lease).
    const p = await this.o.progress.get(ref)
    const slot = e.schedule.next(p?.lastSlot ?? anchorOf(t))
    if (slot === undefined || slot > now) {
      e.next = slot
      return
    }
    const policy = t.spec.concurrency ?? 'allow'
    const previous = p?.lastInvocationId !== undefined ? await this.o.invocations.get(p.lastInvocationId) : undefined
    const busy = previous !== undefined && (previous.status === 'queued' || previous.status === 'running')
    let progress: CronProgress
    if (busy && policy === 'forbid') {
      progress = { trigger: ref, lastSlot: now, lastRunAt: now, lastOutcome: 'skipped', lastInvocationId: previous.id }
      this.o.logger.info({ trigger: ref, previous: previous.id, slot: new Date(slot).toISOString() }, 'cron run skipped: the previous run is still going (concurrency forbid)')
    } else {
      if (busy && policy === 'replace') await this.o.cancel(previous.id, `replaced by the next run of cron trigger "${name}"`)
      try {
        const body = t.spec.data === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(t.spec.data))
        const a = await this.o.acceptor.accept({
          function: fn, source: `cron/${name}`, idempotencyKey: `cron/${name}/${slot}`,
          request: {
            method: 'POST', path: '/', body,
            headers: { ...(body.length > 0 ? { 'content-type': 'application/json' } : {}), 'x-kiln-cron': name, 'x-kiln-scheduled-at': new Date(slot).toISOString() },
          },
        })
        progress = { trigger: ref, lastSlot: now, lastRunAt: now, lastOutcome: 'started', lastInvocationId: a.id }
      } catch (err) {
        if (err instanceof KilnError && err.code === 'KILN_ERR_STATE_UNAVAILABLE') return
        this.o.logger.warn({ trigger: ref, function: fn, err }, 'cron run not started')
        progress = { trigger: ref, lastSlot: now, lastRunAt: now, lastOutcome: 'skipped', ...(p?.lastInvocationId ? { lastInvocationId: p.lastInvocationId } : {}) }
      }
    }
    await this.o.progress.record(progress)
    e.next = e.schedule.next(now)
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    this.unwatch?.()
    if (this.ticking && this.o.health.up) await this.ticking
  }
}
