// `warm`: the function's code is installed ahead of any request. The executor keeps `minWarm` idle
// instances specialized with the current version; when one is taken or dies, another is specialized in
// the background. A deploy waits for the new version's warm set before it returns. During a split each
// version with traffic keeps its share of `minWarm` (at least one), so the first request a canary gets
// finds its code loaded; a version no split serves keeps none.
import type { FunctionState } from '../function-state.js'
import type { Strategy } from './strategy.js'
import { proportional, specializeFromPool } from './strategy.js'

function minWarm(fs: FunctionState): number {
  const m = fs.fn.spec.minWarm
  return proportional(typeof m === 'number' ? m : (fs.adaptiveWarm ?? 1), fs.share)
}

export const warmStrategy: Strategy = {
  name: 'warm',
  provision: specializeFromPool,
  maxInstances: (fs) => fs.fn.spec.maxScale ?? Infinity,
  keepIdle: minWarm,
  reconcile(fs, ctx) {
    const started: Promise<void>[] = []
    for (let n = minWarm(fs) - fs.idleReady().length - ctx.provisioning(fs); n > 0; n--) started.push(ctx.provisionInBackground(fs))
    return started
  },
}
