// noop (alias nop): outputs its default input, or nothing. A nested task as the input is run (their
// dynamic tasks: a task value passed along is executed).
import type { InternalFunction } from '../call.js'

export const noop: InternalFunction = (call) => call.run(call.inputs.default ?? null, '.default')
