// if: `if` (a boolean, required) chooses `then` or `else` (each optional): a value is the output, a
// nested task is run and its output is the output.
import { boolInput, inputError, type InternalFunction } from '../call.js'

export const ifFunction: InternalFunction = async (call) => {
  if (!('if' in call.inputs)) throw inputError('if', "input 'if' is not set")
  const condition = boolInput('if', 'if', call.inputs.if)
  return condition ? call.run(call.inputs.then ?? null, '.then') : call.run(call.inputs.else ?? null, '.else')
}
