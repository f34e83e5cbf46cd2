// repeat: runs `do` (a nested task, required) `times` times (required) one after another; each run
// after the first gets the previous output as its input `prev` (and `_prev`). Output: the last output
// (nothing for times <= 0).
import { inputError, numberInput, type InternalFunction } from '../call.js'
import { MAX_ITERATIONS } from './loops.js'

export const repeat: InternalFunction = async (call) => {
  if (!('times' in call.inputs)) throw inputError('repeat', "repeat needs 'times'")
  const times = Math.trunc(numberInput('repeat', 'times', call.inputs.times))
  if (!('do' in call.inputs)) throw inputError('repeat', "repeat needs 'do'")
  if (!call.isTask(call.inputs.do)) throw inputError('repeat', "input 'do' must be a task {run, inputs}")
  if (times > MAX_ITERATIONS) throw inputError('repeat', `at most ${MAX_ITERATIONS} times, got ${times}`)
  let prev: unknown = null
  for (let i = 0; i < times; i++) {
    prev = await call.run(call.inputs.do, `[${i}]`, i > 0 ? { prev, _prev: prev } : {})
  }
  return prev
}
