// `reuse` (the default): the specialized instance serves request after request until it is idle too long.
import { FUNCTION_DEFAULTS } from '../../core/types.js'
import type { ReusePolicy } from './policy.js'

export const reusePolicy: ReusePolicy = {
  name: 'reuse',
  concurrency: (fn) => fn.spec.concurrency ?? FUNCTION_DEFAULTS.concurrency,
  accepts: () => true,
  spent: () => false,
  returnsToPool: true,
}
