// foreach: runs `do` (a nested task, required) for every element of `foreach` (a list, required), in
// parallel unless `sequential`; the element is the task's input `element` (and `_item`, as older
// versions named it). Output: the list of outputs in element order (`collect: false`: nothing).
// The first failure fails the task (the other elements are cancelled).
import { KilnError } from '../../../core/errors.js'
import { boolInput, inputError, typeName, type InternalFunction } from '../call.js'
import { MAX_ITERATIONS } from './loops.js'

const IN_FLIGHT = 100

export const foreach: InternalFunction = async (call) => {
  if (!('foreach' in call.inputs)) throw inputError('foreach', "input 'foreach' is not set")
  const items = call.inputs.foreach
  if (!Array.isArray(items)) throw inputError('foreach', `input 'foreach' must be a list, got ${typeName(items)}`)
  if (items.length > MAX_ITERATIONS) throw inputError('foreach', `at most ${MAX_ITERATIONS} elements, got ${items.length}`)
  if (!call.isTask(call.inputs.do)) throw inputError('foreach', "input 'do' must be a task {run, inputs}")
  const sequential = call.inputs.sequential === undefined ? false : boolInput('foreach', 'sequential', call.inputs.sequential)
  const collect = call.inputs.collect === undefined ? true : boolInput('foreach', 'collect', call.inputs.collect)

  const results: unknown[] = new Array(items.length)
  const stop = new AbortController()
  const signal = AbortSignal.any([call.signal, stop.signal])
  let next = 0
  let first: { err: unknown } | undefined
  const worker = async () => {
    while (!first && !signal.aborted && next < items.length) {
      const i = next++
      try {
        results[i] = await call.run(call.inputs.do, `[${i}]`, { element: items[i], _item: items[i] }, signal)
      } catch (err) {
        if (!first) {
          first = { err }
          stop.abort(new KilnError('KILN_ERR_CANCELLED', `cancelled: ${call.path}[${i}] failed`))
        }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(sequential ? 1 : IN_FLIGHT, items.length) }, worker))
  if (first) throw first.err
  if (call.signal.aborted) throw call.signal.reason
  return collect ? results : null
}
