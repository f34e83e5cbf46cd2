// `dedicated` (Fission's newdeploy, Knative-like): the function's own instances, booted for it rather than
// taken from a shared pool, scaled between minScale and maxScale on in-flight load and to zero after
// idle when minScale is 0. The boot names the function and its limits, so a backend with per-function
// sets (a Deployment per function on Kubernetes) starts the instance there, sized for it. During a split
// each version with traffic keeps its share of minScale (at least one when minScale is).
import { instanceLimits } from '../function-state.js'
import { proportional, reclaimFor, type Strategy } from './strategy.js'

export const dedicatedStrategy: Strategy = {
  name: 'dedicated',
  async provision(fs, ctx, background) {
    const rec = await ctx.fleet.boot({
      ...fs.placement(), runtime: ctx.runtime(fs), reclaim: reclaimFor(fs, background), urgent: !background,
      function: fs.name, for: fs.key, limits: instanceLimits(fs.fn) ?? undefined,
    })
    try {
      await ctx.load(rec, fs, background)
    } catch (e) {
      void ctx.fleet.retire(rec, 0)
      throw e
    }
    return rec
  },
  maxInstances: (fs) => fs.fn.spec.maxScale ?? 10,
  keepIdle: (fs) => proportional(fs.fn.spec.minScale ?? 0, fs.share),
  reconcile(fs, ctx) {
    const started: Promise<void>[] = []
    for (let n = proportional(fs.fn.spec.minScale ?? 0, fs.share) - fs.ready().length - ctx.provisioning(fs); n > 0; n--) started.push(ctx.provisionInBackground(fs))
    return started
  },
}
