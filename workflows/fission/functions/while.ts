// while: runs `do` (a nested task or workflow, required) as long as `expr` holds. `expr` is evaluated
// before every iteration with the iteration count in task().Inputs._count and the previous output in
// `_prev`/`prev` (which `do` sees too); `delay` (a Go duration) waits before each run; more than `limit`
// iterations (default and at most 10 000) fail the task. Output: the last output (nothing if none ran).
import { KilnError } from '../../../core/errors.js'
import { sleep as wait } from '../../abort.js'
import { boolInput, inputError, numberInput, type InternalFunction } from '../call.js'
import { MAX_ITERATIONS } from './loops.js'
import { durationInput } from './sleep.js'

export const whileFunction: InternalFunction = async (call) => {
  if (!('expr' in call.raw)) throw inputError('while', "input 'expr' is not set")
  if (!('do' in call.inputs)) throw inputError('while', "input 'do' is not set")
  if (!call.isTask(call.inputs.do)) throw inputError('while', "input 'do' must be a task or workflow")
  const limit = call.inputs.limit === undefined ? MAX_ITERATIONS : Math.trunc(numberInput('while', 'limit', call.inputs.limit))
  if (limit > MAX_ITERATIONS) throw inputError('while', `limit is at most ${MAX_ITERATIONS}, got ${limit}`)
  const delay = durationInput('while', 'delay', call.inputs.delay, 0)
  let prev: unknown = null
  for (let count = 0; ; count++) {
    const extra = count > 0 ? { _count: count, _prev: prev, prev } : { _count: count }
    const go = boolInput('while', 'expr', await call.evaluate(call.raw.expr, extra))
    if (!go) return prev
    if (count >= limit) throw new KilnError('KILN_ERR_TASK_FAILED', `while: limit of ${limit} iterations exceeded`)
    if (delay > 0) await wait(delay, call.signal)
    prev = await call.run(call.inputs.do, `[${count}]`, extra)
  }
}
