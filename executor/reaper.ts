// The shared idle reaper (one for every strategy, as Fission ended up with): which of a function's idle
// instances to let go on this tick. The most recently used stay, as many as the strategy keeps; the
// idle tail beyond them (and beyond what the autoscaler's stable window asks for) goes once idle past the function's idle timeout — at once under `minWarm: auto`,
// where the adaptive policy decides what stays warm.
import type { InstanceRecord } from '../poolmgr/instance.js'
import type { FunctionState } from './function-state.js'
import type { Strategy } from './strategies/strategy.js'

export function idleToReap(fs: FunctionState, strategy: Strategy, now: number, defaultIdleMs: number): InstanceRecord[] {
  let idleTimeout = fs.fn.spec.idleTimeoutMs ?? defaultIdleMs
  const idle = fs.idleReady().sort((a, b) => b.lastUsed - a.lastUsed)
  if (fs.adaptive !== undefined) {
    fs.adaptive.idleWarmMs += idle.length * (now - (fs.lastTickAt || now))
    fs.adaptiveWarm = fs.adaptive.desired(now)
    idleTimeout = 0
  }
  fs.lastTickAt = now
  // Scale-in with hysteresis: the instances the autoscaler's stable window still asks for stay through a dip.
  const busy = fs.ready().length - idle.length
  return idle.slice(Math.max(strategy.keepIdle(fs), fs.scale.keep(now, idleTimeout, fs.concurrency) - busy)).filter((rec) => now - rec.lastUsed >= idleTimeout)
}
