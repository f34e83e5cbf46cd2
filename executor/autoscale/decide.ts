// The scale decision, a pure function of what was measured (unit-tested: test/unit/executor/autoscale.test.ts).
// Two questions, as Knative's autoscaler asks the first: how many instances does the demand ask for
// (`desired`: the stable window's average over a concurrency target, or in panic the panic window's,
// never scaling down while panicking), and how many instances can the machine keep busy (`cap`: an
// instance that spends real CPU gets company only where the node has idle CPU to give it). A request
// that finds every slot taken starts an instance only below both `cap` and the function's maximum;
// otherwise it waits in the function's bounded queue.

export interface ScaleSettings {
  /** The window whose average demand sets the instance count (and keeps instances through dips). */
  stableWindowMs: number
  /** The short window that detects a burst. */
  panicWindowMs: number
  /** Panic when the panic window asks for this many times the ready instances. */
  panicThreshold: number
  /** The share of an instance's slots (its concurrency) the count aims to fill. */
  targetUtilization: number
  /** Cores an instance must use on average before the node's idle CPU limits its count. */
  cpuBoundCores: number
}

export const DEFAULT_SCALE: ScaleSettings = { stableWindowMs: 30_000, panicWindowMs: 3_000, panicThreshold: 2, targetUtilization: 0.7, cpuBoundCores: 0.1 }

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
  cores: number
  /** Until when the function is in panic mode (0: it is not). */
  panicUntil: number
}

export interface ScaleDecision {
  desired: number
  cap: number
  panicUntil: number
  /** Why the cap is what it is (shown by `kiln fn get`, for operators). */
  limitedBy: 'max' | 'cpu' | 'unmeasured'
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

  let cap = i.max
  let limitedBy: ScaleDecision['limitedBy'] = 'max'
  if (i.ready === 0) {
    // Nothing serves yet: the first instance is made before any other, so a burst at a cold function
    // waits for one boot instead of starting one per `perInstance` requests.
    cap = Math.max(i.live, 1)
    limitedBy = 'unmeasured'
  } else if (i.cpuPerInstance === undefined || i.unmeasured > 0) {
    // What another instance buys is not known until the ones serving have been measured: at most one
    // unmeasured instance is added, and none while one is being made ready.
    const c = i.live > i.ready || i.unmeasured > 1 ? i.live : i.ready + 1
    if (c < cap) { cap = c; limitedBy = 'unmeasured' }
  }
  if (i.cpuPerInstance !== undefined && i.cpuPerInstance >= s.cpuBoundCores && i.idleCores !== undefined) {
    // Each instance uses `cpuPerInstance` cores: another one only runs on cores the node has idle,
    // and never more of them than the node's cores can keep busy at that rate.
    const extra = Math.floor((Math.max(0, i.idleCores) + IDLE_ROUNDING) / i.cpuPerInstance)
    const byCores = Math.max(1, Math.floor(i.cores / i.cpuPerInstance + IDLE_ROUNDING))
    const c = Math.min(i.ready + extra, byCores)
    if (c < cap) { cap = c; limitedBy = 'cpu' }
  }
  cap = Math.max(cap, i.min, 1)
  return { desired, cap, panicUntil, limitedBy }
}
