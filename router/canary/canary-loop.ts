// The progressive canary, level-triggered: every second it reads each function's traffic record, and
// for a running canary judges the new version on what this router measured of it since its weight was
// last set (window.ts): after each interval, an error rate or p99 over its bound rolls all traffic back
// to the version the canary started from; within bounds the weight grows by a step, and at 100% the
// canary is promoted. The record in the store (core/releases) holds the canary's whole state, so a
// restarted platform carries on (measuring afresh from its restart); only the leader acts where several
// executor replicas run. Each outcome is an event (`kiln events`): CanaryStarted, CanaryRolledBack
// (naming the bound and the value measured), CanaryPromoted, CanaryAborted.
import type { Logger } from 'pino'
import type { PlatformEvent } from '../../core/events.js'
import { functionRefOf, type CanaryEvaluation, type Releases } from '../../core/releases/releases.js'
import type { Canary } from '../../core/types.js'
import type { Executor } from '../../executor/executor.js'
import type { FunctionState } from '../../executor/function-state.js'
import { Window, type Measured } from './window.js'

export const DEFAULT_MIN_REQUESTS = 10

export interface CanaryLoopOptions {
  executor: Executor
  releases: Releases
  events: { add(e: Omit<PlatformEvent, 'seq' | 'at'>): unknown }
  logger: Logger
  /** Whether this process moves canaries (the executor leader on Kubernetes); default yes. */
  leads?(): boolean
  tickMs?: number
}

interface Open { startedAt: string; weight: number; state: FunctionState; window: Window; held: boolean }

export class CanaryLoop {
  private readonly open = new Map<string, Open>()
  /** Canaries seen running, by function: their start, to report how each ends. */
  private readonly running = new Map<string, Canary>()
  private timer: NodeJS.Timeout | undefined
  private busy = false

  constructor(private readonly o: CanaryLoopOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.o.tickMs ?? 1000)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
  }

  async tick(): Promise<void> {
    if (this.busy || !(this.o.leads?.() ?? true)) return
    this.busy = true
    try {
      const seen = new Set<string>()
      for (const t of this.o.releases.stores.traffic.list()) {
        const ref = functionRefOf(t)
        const c = t.spec.canary
        if (c === undefined) continue
        seen.add(ref)
        this.report(ref, c)
        if (c.state === 'running') await this.judge(ref, c).catch((err: Error) => this.o.logger.warn({ err, function: ref }, 'canary step failed; retrying'))
        else this.open.delete(ref)
      }
      for (const ref of this.running.keys()) if (!seen.has(ref)) { this.running.delete(ref); this.open.delete(ref) }
    } finally {
      this.busy = false
    }
  }

  /** Start and end events for canaries whose state changed since the last look (ends this loop did not cause). */
  private report(ref: string, c: Canary): void {
    const was = this.running.get(ref)
    if (c.state === 'running') {
      if (was?.startedAt !== c.startedAt) {
        this.o.events.add({ type: 'CanaryStarted', function: ref, reason: `version ${c.to} takes ${c.step}% more of the traffic every ${c.intervalMs / 1000}s while its error rate stays within ${pct(c.maxErrorRate)}${c.maxP99Ms !== undefined ? ` and its p99 within ${c.maxP99Ms} ms` : ''}`, evidence: { from: c.from, to: c.to, step: c.step, intervalMs: c.intervalMs, maxErrorRate: c.maxErrorRate, ...(c.maxP99Ms !== undefined ? { maxP99Ms: c.maxP99Ms } : {}) } })
      }
      this.running.set(ref, c)
      return
    }
    if (was?.startedAt === c.startedAt) {
      this.running.delete(ref)
      // Ended elsewhere (by hand, or by a deploy): the loop's own endings were reported when made.
      if (c.state === 'aborted') this.o.events.add({ type: 'CanaryAborted', function: ref, reason: c.reason ?? 'aborted', evidence: { from: c.from, to: c.to, weight: was.weight } })
    }
  }

  private async judge(ref: string, c: Canary): Promise<void> {
    const fs = this.o.executor.entry(ref)?.states.get(c.to)
    // Not applied here yet (its warm set is being made): measure from when it serves.
    if (fs === undefined || !fs.routed) return
    let w = this.open.get(ref)
    if (w === undefined || w.startedAt !== c.startedAt || w.weight !== c.weight || w.state !== fs) {
      this.open.set(ref, { startedAt: c.startedAt, weight: c.weight, state: fs, window: new Window(fs.stats), held: false })
      return
    }
    if (Date.now() - w.window.openedAt < c.intervalMs) return
    const m = w.window.measure(fs.stats)
    const minRequests = c.minRequests ?? DEFAULT_MIN_REQUESTS
    const evaluation = (verdict: string): CanaryEvaluation => ({
      at: new Date().toISOString(), weight: c.weight, requests: m.requests, errors: m.errors,
      errorRate: Math.round(m.errorRate * 10_000) / 10_000, ...(m.p99Ms !== undefined ? { p99Ms: m.p99Ms } : {}), verdict,
    })
    if (m.requests < minRequests) {
      // Too little evidence: the step waits (the window keeps counting), said once per window.
      if (!w.held) {
        w.held = true
        await this.o.releases.advanceCanary(ref, c.startedAt, 'hold', evaluation(`waiting: ${m.requests} of the ${minRequests} requests a step needs`))
      }
      return
    }
    const breach = breached(c, m)
    if (breach !== undefined) {
      const reason = `${breach.text} (${m.errors} of ${m.requests} requests to version ${c.to} failed${m.p99Ms !== undefined ? `, p99 ${m.p99Ms} ms` : ''}); all traffic back to version ${c.from}`
      const done = await this.o.releases.advanceCanary(ref, c.startedAt, 'rollback', evaluation(`breach: ${breach.text}`), reason)
      if (done) {
        this.running.delete(ref)
        this.open.delete(ref)
        this.o.logger.warn({ function: ref, from: c.from, to: c.to, ...breach.evidence }, 'canary rolled back')
        this.o.events.add({ type: 'CanaryRolledBack', function: ref, reason, evidence: { ...breach.evidence, requests: m.requests, errors: m.errors, ...(m.p99Ms !== undefined ? { p99Ms: m.p99Ms } : {}), from: c.from, to: c.to, weight: c.weight } })
      }
      return
    }
    const next = await this.o.releases.advanceCanary(ref, c.startedAt, 'step', evaluation('within bounds'))
    if (next?.state === 'promoted') {
      this.running.delete(ref)
      this.open.delete(ref)
      this.o.logger.info({ function: ref, from: c.from, to: c.to }, 'canary promoted')
      this.o.events.add({ type: 'CanaryPromoted', function: ref, reason: `version ${c.to} serves all traffic: every step stayed within its bounds`, evidence: { from: c.from, to: c.to, requests: m.requests, errorRate: m.errorRate, ...(m.p99Ms !== undefined ? { p99Ms: m.p99Ms } : {}) } })
    }
  }
}

/** The bound an interval's measurement broke, if any: error rate first, then p99. */
export function breached(c: Pick<Canary, 'maxErrorRate' | 'maxP99Ms'>, m: Measured): { text: string; evidence: Record<string, unknown> } | undefined {
  if (m.errorRate > c.maxErrorRate) {
    return { text: `error rate ${pct(m.errorRate)} over the bound ${pct(c.maxErrorRate)}`, evidence: { bound: 'maxErrorRate', limit: c.maxErrorRate, measured: Math.round(m.errorRate * 10_000) / 10_000 } }
  }
  if (c.maxP99Ms !== undefined && m.p99Ms !== undefined && m.p99Ms > c.maxP99Ms) {
    return { text: `p99 ${m.p99Ms} ms over the bound ${c.maxP99Ms} ms`, evidence: { bound: 'maxP99Ms', limit: c.maxP99Ms, measured: m.p99Ms } }
  }
  return undefined
}

function pct(x: number): string {
  return `${Math.round(x * 10_000) / 100}%`
}
