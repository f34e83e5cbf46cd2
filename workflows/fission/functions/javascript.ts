// javascript: evaluates `expr` (a string, required) in the sandbox with `args` as variables (a map:
// one variable per key; anything else: `arg`). Output: the expression's value.
import { sandbox } from '../../sandbox/sandbox.js'
import { inputError, typeName, type InternalFunction } from '../call.js'

export const javascript: InternalFunction = async (call) => {
  const expr = call.inputs.expr
  if (expr === undefined) throw inputError('javascript', "input 'expr' is not set")
  if (typeof expr !== 'string') throw inputError('javascript', `input 'expr' must be a string, got ${typeName(expr)}`)
  const args = call.inputs.args
  const globals = args !== null && typeof args === 'object' && !Array.isArray(args) ? (args as Record<string, unknown>) : { arg: args ?? null }
  const [value] = await sandbox().scripts({}, call.path, [{ source: expr }], globals)
  return value
}
