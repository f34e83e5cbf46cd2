// The load monitor: samples every instance's cgroup counters each `sampleMs`, turns them into rates
// (cpu cores used, share of periods throttled, memory share of the limit), and compares each function
// with its normal range — the configured `loadLimits` and its own baseline. A function outside the range
// for `window` consecutive samples is isolated, with the samples as evidence; with a cool-down set, a
// monitor-isolated function that stays quiet that long is released.
import type { Logger } from 'pino'
import type { ClusterBackend, InstanceSample } from '../cluster/backend.js'
import type { LoadLimitsConfig } from '../core/config.js'
import { parseBytes } from '../core/quantity.js'
import type { Executor } from './executor.js'
import type { FunctionState } from './function-state.js'

export interface InstanceLoad { cpuCores: number; throttleRatio: number; memoryBytes: number; memoryShare?: number; pids: number; cpuPressure?: number; cpuMsPerRequest?: number }

interface Baseline { mean: number; n: number }

const BASELINE_MIN_SAMPLES = 10
const BASELINE_FACTOR = 4
const BASELINE_FLOOR_CORES = 0.2

export function loadBetween(p: InstanceSample, s: InstanceSample): InstanceLoad | undefined {
  const dt = (s.at - p.at) / 1000
  if (dt <= 0) return undefined
  const periods = s.nrPeriods - p.nrPeriods
  return {
    cpuCores: Math.max(0, (s.cpuUsageUsec - p.cpuUsageUsec) / 1e6 / dt),
    throttleRatio: periods > 0 ? (s.nrThrottled - p.nrThrottled) / periods : 0,
    memoryBytes: s.memoryBytes,
    memoryShare: s.memoryLimitBytes && Number.isFinite(s.memoryLimitBytes) ? s.memoryBytes / s.memoryLimitBytes : undefined,
    pids: s.pids,
    cpuPressure: s.cpuPressureSomeAvg10,
  }
}

/** Why a sample is outside the function's normal range, or undefined when it is inside. */
export function abnormal(load: InstanceLoad, fs: FunctionState, limits: LoadLimitsConfig, baseline: Baseline | undefined): string | undefined {
  const res = fs.fn.spec.resources
  const memLimit = res?.memory ? parseBytes(res.memory) : undefined
  const share = load.memoryShare ?? (memLimit ? load.memoryBytes / memLimit : undefined)
  if (share !== undefined && share > limits.memoryShare) return `memory ${Math.round(share * 100)}% of its limit (normal: under ${Math.round(limits.memoryShare * 100)}%)`
  // A function serving many cheap requests is busy, not noisy (it scales out); the cpu rules look at
  // functions that spend much cpu per request, or never finish one.
  if (load.cpuMsPerRequest !== undefined && load.cpuMsPerRequest <= limits.cpuMsPerRequest) return undefined
  if (res?.cpu !== undefined) {
    if (load.cpuCores > limits.cpuShare * res.cpu) return `cpu ${load.cpuCores.toFixed(2)} cores, over ${Math.round(limits.cpuShare * 100)}% of its ${res.cpu} core limit`
  } else if (load.cpuCores > limits.cpuCores) {
    return `cpu ${load.cpuCores.toFixed(2)} cores without a cpu limit (normal: under ${limits.cpuCores})`
  }
  if (load.throttleRatio > limits.throttleRatio) return `throttled in ${Math.round(load.throttleRatio * 100)}% of cpu periods (normal: under ${Math.round(limits.throttleRatio * 100)}%)`
  if (baseline && baseline.n >= BASELINE_MIN_SAMPLES && load.cpuCores > Math.max(BASELINE_FACTOR * baseline.mean, BASELINE_FLOOR_CORES)) {
    return `cpu ${load.cpuCores.toFixed(2)} cores, ${BASELINE_FACTOR}x above its own baseline of ${baseline.mean.toFixed(3)}`
  }
  return undefined
}

export class LoadMonitor {
  private readonly prev = new Map<string, InstanceSample>()
  private readonly prevRequests = new Map<string, number>()
  private readonly baselines = new Map<string, Baseline>()
  private readonly quietSince = new Map<string, number>()
  private timer: NodeJS.Timeout | undefined
  private running = false

  constructor(
    private readonly executor: Executor,
    private readonly backend: ClusterBackend,
    private readonly limits: LoadLimitsConfig,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (!this.backend.sample) return
    this.timer = setInterval(() => void this.tick(), this.limits.sampleMs)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
  }

  async tick(): Promise<void> {
    if (this.running) return
    this.running = true
    try {
      const seen = new Set<string>()
      for (const fs of this.executor.functions()) await this.check(fs, seen)
      for (const id of this.prev.keys()) if (!seen.has(id)) { this.prev.delete(id); this.prevRequests.delete(id) }
    } catch (err) {
      this.logger.warn({ err }, 'load monitor sample failed')
    } finally {
      this.running = false
    }
  }

  private async check(fs: FunctionState, seen: Set<string>): Promise<void> {
    let reason: string | undefined
    let evidence: Record<string, unknown> | undefined
    let peak = 0
    let fresh = 0
    let repeated = 0
    for (const rec of fs.instances) {
      if (rec.state === 'gone') continue
      const s = await this.backend.sample!(rec.id)
      if (!s) continue
      seen.add(rec.id)
      const p = this.prev.get(rec.id)
      // A backend fed by periodic reports (Kubernetes' node agents) returns the same sample until the
      // next report: a rate needs a newer one, and the request count must span the same interval.
      if (p && s.at <= p.at) { repeated++; continue }
      fresh++
      const done = rec.requests - (this.prevRequests.get(rec.id) ?? rec.requests)
      this.prev.set(rec.id, s)
      this.prevRequests.set(rec.id, rec.requests)
      if (!p) continue
      const load = loadBetween(p, s)
      if (!load) continue
      // Cpu time per completed request; none completed while busy counts as unbounded.
      const cpuMs = load.cpuCores * (s.at - p.at)
      load.cpuMsPerRequest = done > 0 ? cpuMs / done : cpuMs > 0 ? Infinity : 0
      rec.load = load
      peak = Math.max(peak, load.cpuCores)
      const why = reason ? undefined : abnormal(load, fs, this.limits, this.baselines.get(fs.key))
      if (why) {
        reason = why
        evidence = { instance: rec.id, node: rec.node, ...load, cpuCores: round(load.cpuCores), throttleRatio: round(load.throttleRatio), cpuMsPerRequest: Number.isFinite(load.cpuMsPerRequest) ? round(load.cpuMsPerRequest!) : 'no request completed' }
      }
    }
    // Only repeats since the last tick: no new evidence either way, so the streak stands.
    if (repeated > 0 && fresh === 0) return
    if (fs.isolation) {
      this.cooldown(fs, reason === undefined)
      return
    }
    if (reason === undefined) {
      fs.noisyStreak = 0
      const b = this.baselines.get(fs.key) ?? { mean: 0, n: 0 }
      if (fs.instances.length) this.baselines.set(fs.key, { mean: b.n === 0 ? peak : b.mean * 0.9 + peak * 0.1, n: b.n + 1 })
      return
    }
    fs.noisyStreak++
    fs.lastEvidence = { reason, ...evidence, streak: fs.noisyStreak, window: this.limits.window }
    if (fs.noisyStreak >= this.limits.window) {
      this.logger.warn({ function: fs.name, reason, evidence }, 'function is noisy: isolating it')
      void this.executor.isolate(fs.name, { reason, evidence: { ...evidence, samplesOutOfRange: fs.noisyStreak }, at: Date.now(), by: 'monitor' })
        .catch((err: Error) => this.logger.error({ err, function: fs.name }, 'isolation failed'))
    }
  }

  private cooldown(fs: FunctionState, quiet: boolean): void {
    if (fs.isolation?.by !== 'monitor' || this.limits.cooldownMs <= 0) return
    if (!quiet) { this.quietSince.delete(fs.key); return }
    const since = this.quietSince.get(fs.key) ?? Date.now()
    this.quietSince.set(fs.key, since)
    if (Date.now() - since >= this.limits.cooldownMs) {
      this.quietSince.delete(fs.key)
      void this.executor.releaseIsolation(fs.name, 'monitor')
    }
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000
}
