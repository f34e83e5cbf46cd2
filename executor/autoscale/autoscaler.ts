// The autoscaler's loop: every `sampleMs` it records each function version's demand (requests in flight
// plus queued), measures the CPU of the instances of functions under pressure (their cgroup or process
// counters, ClusterBackend.sample) and the node's idle CPU, and runs the decision (decide.ts) into
// the version's ScaleState. The executor reads that state on the request path (`mayGrow`: one compare),
// in its tick (queued requests get an instance as soon as the cap allows) and in the reaper (instances
// the stable window still asks for are kept through a dip: no cold starts after a ramp).
import { performance, type EventLoopUtilization } from 'node:perf_hooks'
import type { ClusterBackend, InstanceSample } from '../../cluster/backend.js'
import type { InstanceRecord } from '../../poolmgr/instance.js'
import type { FunctionState } from '../function-state.js'
import { decide, DEFAULT_SCALE, keepFor, type Probe, type ScaleDecision, type ScaleSettings } from './decide.js'
import { PRESSED_INFLIGHT } from './inflight-limit.js'
import { LastingIdle, type NodeCpu } from './node-cpu.js'
import { DemandWindow } from './window.js'

/** One function version's scale state, kept on its FunctionState. */
export class ScaleState {
  readonly window = new DemandWindow()
  /** Most instances the version may have now (the request path starts one only below it). */
  cap = 1
  /** Instances the demand asks for (stable window, or the panic window while panicking). */
  desired = 0
  panicUntil = 0
  limitedBy: ScaleDecision['limitedBy'] = 'first'
  probe: Probe | undefined
  /** The instance count beyond which a probe found no gain (until the queue empties). */
  ceiling: number | undefined
  /** Requests the version's instances completed (counted by the executor's release). */
  served = 0
  /** Since when the ready count has held and requests have been queued (0: not now). */
  steadySince = 0
  steadyReady = -1
  /** (time, served) at each tick, for the settled rate. */
  private readonly history: { at: number; served: number }[] = []

  /** Records this tick; returns the rate over the last `ms` if the count held and requests queued all along. */
  settle(now: number, ready: number, queued: number, ms: number): number | undefined {
    this.history.push({ at: now, served: this.served })
    while (this.history.length > 2 && now - this.history[1].at >= ms) this.history.shift()
    if (queued === 0 || ready !== this.steadyReady) {
      this.steadyReady = ready
      this.steadySince = queued === 0 ? 0 : now
      return undefined
    }
    const first = this.history[0]
    if (this.steadySince === 0 || now - this.steadySince < ms || first.at < this.steadySince || now - first.at < ms * 0.75) return undefined
    return ((this.served - first.served) * 1000) / (now - first.at)
  }
  /** Mean cores per measured instance, when measured. */
  cpuPerInstance: number | undefined
  private settings: ScaleSettings = DEFAULT_SCALE

  /**
   * Idle instances the reaper leaves alone: what the demand of the last `idleMs` (at most the stable
   * window) keeps, with hysteresis. A function's own short idle timeout still lets its instances go soon.
   */
  keep(now: number, idleMs: number, perInstance: number): number {
    return keepFor(this.window.average(now, Math.min(idleMs, this.settings.stableWindowMs)), perInstance, this.settings)
  }

  /** @internal the autoscaler's settings, for `keep` */
  use(settings: ScaleSettings): void { this.settings = settings }

  describe(): Record<string, unknown> {
    return {
      desired: this.desired, cap: Number.isFinite(this.cap) ? this.cap : null, limitedBy: this.limitedBy, panic: this.panicUntil > Date.now(),
      ...(this.ceiling === undefined ? {} : { ceiling: this.ceiling }), ...(this.probe === undefined ? {} : { probing: this.probe.from + 1 }),
      ...(this.cpuPerInstance === undefined ? {} : { cpuPerInstance: Math.round(this.cpuPerInstance * 1000) / 1000 }),
    }
  }
}

/** Samples of the node's idle CPU whose least counts (4 × 250 ms: a second). */
const IDLE_TICKS = 4

/** Event loop utilization from which the router counts as the bottleneck. */
const ROUTER_BUSY = 0.9

interface Measured { prev: InstanceSample; cores: number | undefined }

export interface AutoscalerOptions {
  backend: Pick<ClusterBackend, 'sample'>
  /** The node's CPU where instances run on this machine; undefined: no CPU cap (remote nodes). */
  nodeCpu: NodeCpu | undefined
  settings: ScaleSettings
  sampleMs: number
  /** Every live function version, and its limits. */
  functions(): Iterable<FunctionState>
  maxInstances(fs: FunctionState): number
  minInstances(fs: FunctionState): number
  /** Called after each decision: the executor serves the queue when the cap now allows another instance. */
  decided(fs: FunctionState): void
}

export class Autoscaler {
  private readonly measured = new WeakMap<InstanceRecord, Measured>()
  private timer: NodeJS.Timeout | undefined
  private running = false
  /** The node's idle cores: the least of the last second's samples (idle CPU that lasted). */
  idleCores: number | undefined
  private readonly idle = new LastingIdle(IDLE_TICKS)
  /** This process's event loop utilization over the last tick (the router shares it). */
  private elu: EventLoopUtilization = performance.eventLoopUtilization()
  routerBusy = false
  /**
   * The data plane's loop utilization when router processes serve it (router/workers/; their mean,
   * undefined while none reports): the router is busy when they are, or when this process is.
   */
  routerLoad: (() => number | undefined) | undefined

  constructor(private readonly o: AutoscalerOptions) {}

  get settings(): ScaleSettings { return this.o.settings }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.o.sampleMs)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
  }

  async tick(now = Date.now()): Promise<void> {
    if (this.running) return
    this.running = true
    try {
      const sample = this.o.nodeCpu?.idleCores()
      this.idleCores = sample === undefined ? undefined : this.idle.add(sample)
      const elu = performance.eventLoopUtilization()
      const own = performance.eventLoopUtilization(elu, this.elu).utilization
      this.routerBusy = Math.max(own, this.routerLoad?.() ?? 0) >= ROUTER_BUSY
      this.elu = elu
      for (const fs of this.o.functions()) {
        await this.measure(fs)
        this.decideFor(fs, now)
        this.o.decided(fs)
      }
    } finally {
      this.running = false
    }
  }

  /** Demand now: requests in flight on the version's instances, waiting for a boot, or queued. */
  private demand(fs: FunctionState): number {
    let n = fs.queue.length
    for (const r of fs.instances) n += r.inflight
    for (const p of fs.provisions) n += p.waiters.length
    return n
  }

  /** Samples the CPU of instances of a version under pressure (most of its slots taken, or a queue). */
  private async measure(fs: FunctionState): Promise<void> {
    const sample = this.o.backend.sample
    if (sample === undefined) return
    const ready = fs.ready()
    if (ready.length === 0) return
    const busy = fs.queue.length > 0 || ready.some((r) => r.inflight * 2 >= fs.concurrency)
    if (!busy) return
    await Promise.all(ready.map(async (r) => {
      const s = await sample.call(this.o.backend, r.id).catch(() => undefined)
      if (s === undefined) return
      const m = this.measured.get(r)
      if (m === undefined) { this.measured.set(r, { prev: s, cores: undefined }); return }
      const dt = (s.at - m.prev.at) / 1000
      if (dt <= 0) return
      m.cores = Math.max(0, (s.cpuUsageUsec - m.prev.cpuUsageUsec) / 1e6 / dt)
      m.prev = s
    }))
  }

  private decideFor(fs: FunctionState, now: number): void {
    const st = fs.scale
    st.use(this.o.settings)
    const demand = this.demand(fs)
    st.window.add(now, demand, this.o.settings.stableWindowMs)
    const ready = fs.ready()
    let sum = 0
    let n = 0
    let most = 0
    for (const r of ready) {
      const c = this.measured.get(r)?.cores
      if (c !== undefined) { sum += c; n++ }
      if (r.inflight > most) most = r.inflight
    }
    st.cpuPerInstance = n > 0 ? sum / n : undefined
    fs.inflightLimit.update(performance.now(), fs.concurrency, fs.queue.length > 0 || most > PRESSED_INFLIGHT, this.o.settings.adaptiveConcurrency)
    const d = decide({
      now,
      stable: st.window.average(now, this.o.settings.stableWindowMs),
      panic: st.window.average(now, this.o.settings.panicWindowMs),
      perInstance: fs.concurrency,
      ready: ready.length,
      live: ready.length + fs.provisions.filter((p) => p.version === fs.version).length,
      min: this.o.minInstances(fs),
      max: this.o.maxInstances(fs),
      cpuPerInstance: st.cpuPerInstance,
      unmeasured: ready.length - n,
      idleCores: this.idleCores,
      routerBusy: this.routerBusy,
      slots: this.o.settings.adaptiveConcurrency ? fs.slots : undefined,
      cores: this.o.nodeCpu?.cores ?? 1,
      panicUntil: st.panicUntil,
      queued: fs.queue.length,
      served: st.served,
      settledRate: st.settle(now, ready.length, fs.queue.length, this.o.settings.probeMs),
      probe: st.probe,
      ceiling: st.ceiling,
    }, this.o.settings)
    st.cap = d.cap
    st.desired = d.desired
    st.panicUntil = d.panicUntil
    st.limitedBy = d.limitedBy
    st.probe = d.probe
    st.ceiling = d.ceiling
  }
}

export { DEFAULT_SCALE }
