// What an internal function of Fission Workflows gets (their native.InternalFunction's
// TaskInvocationSpec, plus what ours need from the engine), and the errors they raise.
import { KilnError } from '../../core/errors.js'
import type { HostAllowlist } from '../../core/allowlist.js'
import type { TaskState } from '../state/execution.js'

export interface InternalCall {
  /** this task's path in the execution record */
  readonly path: string
  /** the inputs, expressions resolved (nested tasks kept as specs) */
  readonly inputs: Record<string, unknown>
  /** the inputs as the spec has them (while re-evaluates its `expr` from here) */
  readonly raw: Record<string, unknown>
  readonly signal: AbortSignal
  readonly services: FissionServices
  /** True when the value is a task or workflow the spec nests here (data shaped like one is not). */
  isTask(value: unknown): boolean
  /**
   * Runs a nested task or workflow at `${path}${suffix}`, with `extra` added to its inputs (foreach's
   * element, repeat's prev); its output is the result. Any other value is returned as it is.
   */
  run(value: unknown, suffix: string, extra?: Record<string, unknown>, signal?: AbortSignal): Promise<unknown>
  /** Evaluates one of this task's `{ }` inputs again, with `extra` visible in task().Inputs. */
  evaluate(source: unknown, extra: Record<string, unknown>): Promise<unknown>
  /** this task's persisted state (a resumed task finds its bookkeeping here) */
  state(): TaskState
  /** persists bookkeeping on this task's state before going on */
  progress(patch: Partial<TaskState>): Promise<void>
}

/** What the platform lends internal functions (registered per invoker, see services.ts). */
export interface FissionServices {
  /** hosts the `http` function may reach (kiln.yaml callbackHosts) */
  allowlist: HostAllowlist
  /** largest response body the `http` function reads */
  maxResponseBytes: number
  /** how long the `http` function waits for an answer when its task has no timeout */
  httpTimeoutMs: number
}

export type InternalFunction = (call: InternalCall) => Promise<unknown>

/** A bad input of an internal function: KILN_ERR_TASK_INPUT naming the function and the input. */
export function inputError(fn: string, message: string): KilnError {
  return new KilnError('KILN_ERR_TASK_INPUT', `${fn}: ${message}`)
}

export function typeName(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  return typeof v === 'object' ? 'a map' : `${typeof v} ${JSON.stringify(v)?.slice(0, 40)}`
}

/** A number input (a numeric string is accepted, as their FormatNumber/Atoi fallbacks do). */
export function numberInput(fn: string, name: string, v: unknown): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN
  if (!Number.isFinite(n)) throw inputError(fn, `input '${name}' must be a number, got ${typeName(v)}`)
  return n
}

/** A boolean input (as their FormatBool: a bool, or the strings "true"/"false"). */
export function boolInput(fn: string, name: string, v: unknown): boolean {
  if (typeof v === 'boolean') return v
  if (v === 'true' || v === 'false') return v === 'true'
  throw inputError(fn, `input '${name}' must be a boolean, got ${typeName(v)}`)
}
