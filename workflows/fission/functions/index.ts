// The internal functions of Fission Workflows (their pkg/fnenv/native/builtin), one file each.
// A task's `run` names one of these (or `internal://NAME`) before any function of the same name.
import type { InternalFunction } from '../call.js'
import { compose } from './compose.js'
import { fail } from './fail.js'
import { foreach } from './foreach.js'
import { http } from './http.js'
import { ifFunction } from './if.js'
import { javascript } from './javascript.js'
import { noop } from './noop.js'
import { repeat } from './repeat.js'
import { sleep } from './sleep.js'
import { switchFunction } from './switch.js'
import { whileFunction } from './while.js'

export const INTERNAL_FUNCTIONS: Readonly<Record<string, InternalFunction>> = {
  noop,
  nop: noop,
  compose,
  if: ifFunction,
  switch: switchFunction,
  foreach,
  repeat,
  while: whileFunction,
  sleep,
  javascript,
  fail,
  http,
}
