// The platform's view of one running runtime instance: what it is loaded with, how busy it is, and a
// pooled keep-alive connection set to it (undici Pool) used by specialization and the router alike.
import { Pool } from 'undici'
import type { Instance } from '../cluster/backend.js'

export type InstanceState = 'generic' | 'specializing' | 'ready' | 'draining' | 'gone'

/** The function whose code an instance has run (executor/reuse-boundary.ts decides who may follow it). */
export interface CodeOwner { readonly namespace: string; readonly name: string; readonly uid: string }

/** Told of every change of an instance's state (executor/function-state.ts keeps its ready count so). */
export interface StateObserver { stateChanged(rec: InstanceRecord, from: InstanceState, to: InstanceState): void }

/** Keep-alive connections to one instance (its Unix socket, or its URL): the platform's and each router process's. */
export function instancePool(url: string, socketPath: string | undefined): Pool {
  return new Pool(url, {
    keepAliveTimeout: 30_000, keepAliveMaxTimeout: 60_000, pipelining: 1, connect: { timeout: 5000 },
    ...(socketPath === undefined ? {} : { socketPath }),
  })
}

export class InstanceRecord {
  private current: InstanceState = 'generic'
  /** Who counts this instance by its state: the function version whose instances it is among, if any. */
  observer: StateObserver | undefined
  fn: string | undefined
  /** The function version (1, 2, ...) it serves, while `fn` is set. */
  fnVersion = 0
  version: string | undefined
  inflight = 0
  requests = 0
  lastUsed = Date.now()
  specializedAt = 0
  /** Set when the platform itself decided to stop it (so its exit is not reported as a crash). */
  retiring = false
  /** The instance's cgroup carries a function's limits (so they must be lifted before reuse). */
  limited = false
  /**
   * Set when the instance first loads a function's code, and never cleared: an unload cannot prove the
   * code left nothing behind, so only `mayReuse` decides who may be specialized here next.
   */
  ranFor: CodeOwner | undefined
  /** False for an instance booted with a function's own boot-time limits: it never joins a generic pool. */
  poolable = true
  /** Consecutive 5xx answers, since when, and the last good answer (executor/outliers.ts). */
  failures = 0
  failingSince = 0
  lastOkAt = 0
  /** Latest load computed by the monitor from the instance's counters. */
  load: { cpuCores: number; throttleRatio: number; memoryBytes: number } | undefined
  readonly client: Pool

  /**
   * @param bootedFor the function this instance was booted for alone (`dedicated`): it never joins a
   * generic pool, whatever that function's strategy is by the time it leaves.
   */
  constructor(readonly inst: Instance, readonly runtime: string, readonly bootedFor?: string) {
    this.client = instancePool(inst.url, inst.socketPath)
  }

  /** generic → specializing → ready → draining → gone (draining → generic: back to a pool). */
  get state(): InstanceState { return this.current }
  set state(to: InstanceState) {
    const from = this.current
    if (from === to) return
    this.current = to
    this.observer?.stateChanged(this, from, to)
  }

  get id(): string { return this.inst.id }
  get node(): string { return this.inst.node }

  describe(now = Date.now()): Record<string, unknown> {
    const state = this.state === 'ready' && this.inflight > 0 ? 'busy' : this.state
    return {
      id: this.id, runtime: this.runtime, node: this.node, state, function: this.fn, version: this.version,
      ...(this.fn !== undefined && this.fnVersion > 0 ? { functionVersion: this.fnVersion } : {}),
      inflight: this.inflight, requests: this.requests, ageMs: now - this.inst.startedAt, idleMs: now - this.lastUsed,
      pid: this.inst.pid, url: this.inst.url, ...(this.inst.socketPath ? { socket: this.inst.socketPath } : {}), bootMs: Math.round(this.inst.bootMs * 100) / 100,
      ...(this.load ? { cpuCores: Math.round(this.load.cpuCores * 1000) / 1000, memoryBytes: this.load.memoryBytes, throttleRatio: Math.round(this.load.throttleRatio * 1000) / 1000 } : {}),
    }
  }
}
