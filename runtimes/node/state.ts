// The instance's one piece of mutable state: the function it is specialized with, if any.
import type { Baseline } from './clean.js'
import type { EnvSnapshot } from './env.js'
import type { Loaded } from './loader.js'
import type { FunctionInfo, Shape } from './shapes/shape.js'

export interface Specialized {
  info: FunctionInfo
  sha256: string
  entrypoint: string
  shape: Shape & { rawBody?: boolean }
  loaded: Loaded
  loadMs: number
  env: EnvSnapshot
  baseline: Baseline
}

export const state = {
  runtime: process.env.KILN_RUNTIME || 'node',
  startedAt: performance.now(),
  current: undefined as Specialized | undefined,
  /** A specialization in progress: same function → wait for it; another → 409. */
  loading: undefined as { name: string; sha256: string; done: Promise<void> } | undefined,
  requests: 0,
  /** Invocations whose promise has not settled (a timed-out function may still be running). */
  pending: 0,
  /** Open connections to this server (excluded from the clean check). */
  connections: 0,
  /** An uncaught exception or unhandled rejection happened: never return this process to the pool. */
  tainted: false,
  /** The boot-time self warm-up is running (see warmup.ts); /healthz answers 503 meanwhile. */
  warming: false,
  /** Out of file descriptors: the instance is on its way out (exhausted.ts); /healthz answers 503. */
  exhausted: false,
}
