// fail: always fails, with its default input as the message ("fail function triggered" without one).
import { KilnError } from '../../../core/errors.js'
import type { InternalFunction } from '../call.js'

export const fail: InternalFunction = async (call) => {
  const msg = call.inputs.default
  const message = msg === undefined || msg === null ? 'fail function triggered' : typeof msg === 'string' ? msg : JSON.stringify(msg)
  throw new KilnError('KILN_ERR_TASK_FAILED', message)
}
