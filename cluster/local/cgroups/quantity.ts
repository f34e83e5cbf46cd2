// Quantities in cgroup limits ("128Mi", "1G", "512k", plain numbers; "max" for no limit).
// The grammar is core's, so a size reads the same in a function spec and a node quota.

import { parseBytes } from '../../../core/quantity.js'

export function parseQuantity(s: string): number {
  const t = s.trim()
  if (t === 'max' || t === 'unlimited') return Infinity
  return parseBytes(t)
}
