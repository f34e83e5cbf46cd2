// switch: `switch` (a string, required) is matched against `cases` ([{case, action}]); the matching
// case's action, else `default`, else nothing. An action that is a nested task is run.
import { inputError, typeName, type InternalFunction } from '../call.js'

export const switchFunction: InternalFunction = async (call) => {
  if (!('switch' in call.inputs)) throw inputError('switch', "input 'switch' is not set")
  const v = call.inputs.switch
  if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') throw inputError('switch', `input 'switch' must be a string, got ${typeName(v)}`)
  const value = String(v)
  const cases = call.inputs.cases ?? []
  if (!Array.isArray(cases)) throw inputError('switch', `input 'cases' must be a list of {case, action}, got ${typeName(cases)}`)
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i] as Record<string, unknown>
    if (typeof c !== 'object' || c === null || Array.isArray(c)) throw inputError('switch', `cases[${i}]: invalid case provided (a {case, action} map)`)
    if (!('case' in c)) throw inputError('switch', `cases[${i}]: case in switch does not have a key`)
    if (typeof c.case !== 'string') throw inputError('switch', `cases[${i}]: case key should be a string`)
    if (c.case === value) return call.run(c.action ?? null, `.cases[${i}]`)
  }
  return call.run(call.inputs.default ?? null, '.default')
}
