// The scale decision, a pure function of what was measured (unit-tested: test/unit/executor/autoscale.test.ts).
// Two questions. How many instances does the demand ask for: as Knative's autoscaler, the stable
// window's average demand over a concurrency target, or in panic (a burst: the panic window asks for
// twice what is ready) the panic window's, never scaling down while panicking; with hysteresis on the
// way down. And how many instances help (`cap`): a request that finds every slot taken starts an
// instance only below the cap and the function's maximum, else it waits in the bounded queue.
//  - nothing ready: the first instance alone (a cold burst waits for one boot, not one per 100 requests);
//  - the node has idle CPU and the instances are measured: an instance that spends real CPU gets
//    company for each idle core it could use, never more than the node's cores keep busy at its rate;
//    one that spends little (it waits on I/O) scales on demand alone;
//  - otherwise (the node's CPU is all in use, or the router's own event loop is): none until the
//    instances are measured; none while the adaptive in-flight limit holds them below half their
//    concurrency (more in flight only waits) or while the router's loop is full and they use little
//    CPU; else one instance at a time, each kept as a step only if the function's throughput rose 20%
//    with it (a probe); the count where it stopped rising is the ceiling until the queue empties.
//    Adding instances to a machine whose CPU is spent (a CPU-bound function, or a router serving a
//    thousand connections) buys cold starts, not throughput.
import { defaultConfig, type AutoscaleConfig } from '../../core/config.js'

/**
 * The settings the decision reads: kiln.yaml's `autoscale` (core/config.ts AutoscaleConfig, where each
 * is described) but how often it is sampled.
 */
export type ScaleSettings = Omit<AutoscaleConfig, 'sampleMs'>

const { sampleMs: _sampleMs, ...defaults } = defaultConfig().autoscale
export const DEFAULT_SCALE: ScaleSettings = defaults

/**
 * One instance added to learn whether another helps: `from` instances served `baseRate` requests/s
 * while it was made ready (with requests queued); once it has served `probeMs` beside them, the rate
 * since `readyAt` says. Gains of PROBE_GAIN or more make the next probe; less sets a ceiling.
 */
export interface Probe { from: number; startAt: number; startServed: number; readyAt: number; readyServed: number; baseRate: number }

export const PROBE_GAIN = 1.2

export interface ScaleInput {
  now: number
  /** Average demand (requests in flight plus queued) over the stable window, and over the panic window. */
  stable: number
  panic: number
  /** Slots per instance (the function's concurrency). */
  perInstance: number
  /** Ready instances of the current version, and those plus the ones being made ready. */
  ready: number
  live: number
  min: number
  max: number
  /** Mean cores used per measured ready instance; undefined while none is measured yet. */
  cpuPerInstance: number | undefined
  /** Ready instances not measured yet (booted since the last samples). */
  unmeasured: number
  /** The node's idle cores over the last sample; undefined where the node is not this machine. */
  idleCores: number | undefined
  /**
   * The platform's own event loop was busy (nearly) all the last sample: requests wait on the router,
   * not on the instances, so another instance cannot raise throughput whatever the node's idle CPU.
   */
  routerBusy?: boolean
  /**
   * Requests each instance gets at once now (the adaptive in-flight limit, inflight-limit.ts); below half
   * of `perInstance`, the round trip grows with what is in flight, so more in flight only waits.
   */
  slots?: number
  cores: number
  /** Until when the function is in panic mode (0: it is not). */
  panicUntil: number
  /** Requests waiting in the function's queue now. */
  queued: number
  /** Requests its instances have completed so far (a counter). */
  served: number
  /**
   * Requests/s completed over the last probeMs, if the ready count held and requests were queued all
   * that time (a rate the instances, not the demand or a boot, set); undefined otherwise.
   */
  settledRate: number | undefined
  /** The probe under way, and the instance count that a probe found no gain beyond. */
  probe: Probe | undefined
  ceiling: number | undefined
}

export interface ScaleDecision {
  desired: number
  cap: number
  panicUntil: number
  /** Why the cap is what it is (shown by `kiln fn get`, for operators). */
  limitedBy: 'max' | 'cpu' | 'first' | 'measuring' | 'latency' | 'router' | 'probe' | 'throughput'
  probe: Probe | undefined
  ceiling: number | undefined
}

/** Scale in only to a count that the stable demand fills to at most this share of the target. */
const SCALE_IN_SHARE = 0.8

/**
 * Instances an average demand keeps (scale-in with hysteresis): an instance goes only once the rest
 * would be at most SCALE_IN_SHARE of the target, so a load near a boundary, or a short dip in a steady
 * one, does not take instances away only to boot them again.
 */
export function keepFor(demand: number, perInstance: number, s: ScaleSettings): number {
  return Math.max(0, Math.ceil(demand / (Math.max(1e-6, perInstance * s.targetUtilization) * SCALE_IN_SHARE) - 1e-9))
}

/** Below this many cores per instance, while the router is busy, the instances wait on the router. */
const ROUTER_BOUND_CORES = 0.5

/** Idle CPU counted as a whole core when it is this close to one: a core's worth, less scheduling noise. */
const IDLE_ROUNDING = 0.25

export function decide(i: ScaleInput, s: ScaleSettings = DEFAULT_SCALE): ScaleDecision {
  const target = Math.max(1e-6, i.perInstance * s.targetUtilization)
  const wantStable = Math.max(0, Math.ceil(i.stable / target - 1e-9))
  const wantPanic = Math.max(0, Math.ceil(i.panic / target - 1e-9))
  let panicUntil = i.panicUntil > i.now ? i.panicUntil : 0
  if (wantPanic > 0 && wantPanic >= s.panicThreshold * Math.max(1, i.ready)) panicUntil = i.now + s.stableWindowMs
  const keep = Math.min(i.ready, keepFor(i.stable, i.perInstance, s))
  let desired = panicUntil > 0 ? Math.max(wantPanic, wantStable, i.ready) : Math.max(wantStable, keep)
  if (i.panic > 0 || i.stable > 0) desired = Math.max(desired, 1)
  desired = Math.min(i.max, Math.max(i.min, desired))

  let probe = i.probe
  let ceiling = i.ceiling
  // The load went down (nothing queued, the stable demand fits): what was learnt no longer applies.
  if (i.queued === 0 && wantStable <= i.ready) { probe = undefined; ceiling = undefined }
  let cap: number
  let limitedBy: ScaleDecision['limitedBy']
  const idle = i.idleCores
  // Instances held below half their concurrency by the adaptive limit: more in flight only waits.
  const latencyBound = i.slots !== undefined && i.slots < i.perInstance / 2
  if (i.ready === 0) {
    cap = Math.max(i.live, 1)
    limitedBy = 'first'
  } else if (idle === undefined) {
    // No node CPU to read (Kubernetes: instances are pods spread over nodes with CPU of their own):
    // the demand decides, as in Knative.
    probe = undefined
    ceiling = undefined
    cap = i.max
    limitedBy = 'max'
  } else if (idle !== undefined && idle >= s.idleCoresToGrow && i.cpuPerInstance !== undefined && i.unmeasured === 0 && i.routerBusy !== true) {
    probe = undefined
    if (i.cpuPerInstance >= s.cpuBoundCores) {
      const extra = Math.floor((idle + IDLE_ROUNDING) / i.cpuPerInstance)
      // An instance using half a core or more is CPU-heavy: it would use a whole one alone, so never
      // more of them than cores.
      const byCores = Math.max(1, Math.min(i.cpuPerInstance >= 0.5 ? i.cores : Infinity, Math.floor(i.cores / i.cpuPerInstance + IDLE_ROUNDING)))
      cap = Math.min(i.ready + extra, byCores)
      limitedBy = 'cpu'
    } else if (latencyBound) {
      cap = i.live
      limitedBy = 'latency'
    } else {
      cap = i.max
      limitedBy = 'max'
    }
    if (ceiling !== undefined && cap > ceiling) ceiling = undefined // idle CPU again: the old ceiling is stale
  } else if (i.cpuPerInstance === undefined || i.unmeasured > 0) {
    // No idle CPU to give, or not known what the instances use: no instance before they are measured
    // (a quarter of a second; a probe's base rate would be taken while its own boot takes the CPU).
    cap = i.live
    limitedBy = 'measuring'
  } else if (latencyBound) {
    // The instances are held below their concurrency: more requests in flight only wait (inside them,
    // or in the router's loop), so another instance would add a boot and CPU use, not throughput.
    probe = undefined
    cap = i.live
    limitedBy = 'latency'
  } else if (i.routerBusy === true && i.cpuPerInstance < ROUTER_BOUND_CORES) {
    // The router's loop is full and the instances wait on it (none uses even half a core).
    probe = undefined
    cap = i.live
    limitedBy = 'router'
  } else if (ceiling !== undefined) {
    cap = ceiling
    limitedBy = 'throughput'
  } else if (probe === undefined) {
    // Demand beyond the instances: add one and watch. The base is the rate the instances held before
    // (a boot's own CPU would lower a rate taken meanwhile); only a lone first instance is probed at
    // once, its base then taken while the probe boots.
    if (i.queued > 0 && i.live === i.ready && (i.settledRate !== undefined || i.ready === 1)) {
      probe = { from: i.ready, startAt: i.now, startServed: i.served, readyAt: 0, readyServed: 0, baseRate: i.settledRate ?? -1 }
      cap = i.ready + 1
    } else cap = i.live
    limitedBy = 'probe'
  } else {
    limitedBy = 'probe'
    cap = Math.max(i.live, probe.from + 1)
    if (probe.readyAt === 0 && i.ready > probe.from) {
      // The probe instance is ready; without a settled base, the rate while it booted is the base.
      const dt = i.now - probe.startAt
      const baseRate = probe.baseRate >= 0 ? probe.baseRate : dt > 0 ? ((i.served - probe.startServed) * 1000) / dt : 0
      probe = { ...probe, readyAt: i.now, readyServed: i.served, baseRate }
    } else if (probe.readyAt > 0 && i.now - probe.readyAt >= s.probeMs) {
      const rate = ((i.served - probe.readyServed) * 1000) / (i.now - probe.readyAt)
      if (i.queued === 0) {
        probe = undefined // the demand, not the instances, set the rate: no verdict
        cap = i.live
      } else if (rate >= probe.baseRate * PROBE_GAIN) {
        // It helped: the next probe starts from this rate (settled over probeMs with the new count).
        probe = { from: i.ready, startAt: i.now, startServed: i.served, readyAt: 0, readyServed: 0, baseRate: rate }
        cap = i.ready + 1
      } else {
        probe = undefined
        ceiling = i.ready
        cap = i.ready
        limitedBy = 'throughput'
      }
    }
  }
  cap = Math.min(i.max, Math.max(cap, i.min, 1))
  return { desired, cap, panicUntil, limitedBy, probe, ceiling }
}
