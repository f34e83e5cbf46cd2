// compose: no inputs → nothing; only `default` → that value; otherwise a map of all inputs.
import type { InternalFunction } from '../call.js'

export const compose: InternalFunction = async (call) => {
  const keys = Object.keys(call.inputs)
  if (keys.length === 0) return null
  if (keys.length === 1 && keys[0] === 'default') return call.run(call.inputs.default, '.default')
  return { ...call.inputs }
}
