// `recycle`: the instance is replaced after `maxRequests` requests or `maxAgeMs` since it was
// specialized, since earlier calls may have changed its environment.
import { FUNCTION_DEFAULTS } from '../../core/types.js'
import type { ReusePolicy } from './policy.js'

export const recyclePolicy: ReusePolicy = {
  name: 'recycle',
  concurrency: (fn) => fn.spec.concurrency ?? FUNCTION_DEFAULTS.concurrency,
  accepts: () => true,
  spent(rec, fn, now) {
    const { maxRequests, maxAgeMs } = fn.spec
    return (maxRequests !== undefined && rec.requests >= maxRequests) || (maxAgeMs !== undefined && now - rec.specializedAt >= maxAgeMs)
  },
  returnsToPool: true,
}
