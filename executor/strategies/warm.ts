// `warm`: the function's code is installed ahead of any request. The executor keeps `minWarm` idle
// instances specialized with the current version; when one is taken or dies, another is specialized in
// the background. A new version is made ready before the deploy returns.
import type { FunctionState } from '../function-state.js'
import type { Strategy, StrategyContext } from './strategy.js'
import { specializeFromPool } from './strategy.js'

function minWarm(fs: FunctionState): number {
  const m = fs.fn.spec.minWarm
  return typeof m === 'number' ? m : (fs.adaptiveWarm ?? 1)
}

function deficit(fs: FunctionState, ctx: StrategyContext): number {
  return minWarm(fs) - fs.idleReady().length - ctx.provisioning(fs)
}

export const warmStrategy: Strategy = {
  name: 'warm',
  provision: specializeFromPool,
  maxInstances: (fs) => fs.fn.spec.maxScale ?? Infinity,
  keepIdle: minWarm,
  reconcile(fs, ctx) {
    for (let n = deficit(fs, ctx); n > 0; n--) ctx.provisionInBackground(fs)
  },
  async prepare(fs, ctx) {
    const want = minWarm(fs) - fs.idleReady().length
    const made = []
    for (let i = 0; i < want; i++) made.push(specializeFromPool(fs, ctx, true))
    const settled = await Promise.allSettled(made)
    for (const s of settled) {
      if (s.status === 'fulfilled') fs.instances.push(s.value)
      else ctx.logger.warn({ err: s.reason, function: fs.name }, 'warm instance could not be prepared')
    }
  },
}
