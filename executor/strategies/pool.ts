// `pool` (Fission's poolmgr): on the first request a generic instance leaves its runtime's pool and is
// specialized; the pool refills in the background. Nothing is kept warm for the function itself.
import type { Strategy } from './strategy.js'
import { specializeFromPool } from './strategy.js'

export const poolStrategy: Strategy = {
  name: 'pool',
  provision: specializeFromPool,
  maxInstances: (fs) => fs.fn.spec.maxScale ?? Infinity,
  keepIdle: () => 0,
  reconcile: () => [],
}
