// `fresh` (one-shot): a clean instance per request, discarded after it; never back to a generic pool.
import type { ReusePolicy } from './policy.js'

export const freshPolicy: ReusePolicy = {
  name: 'fresh',
  concurrency: () => 1,
  accepts: (rec) => rec.requests === 0,
  spent: (rec) => rec.requests > 0,
  returnsToPool: false,
}
