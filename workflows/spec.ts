// The workflow spec: its types, and parseWorkflow (YAML/JSON text or object → checked, normalized spec).
// Structure only; references, expressions and the DAG are checked by validateWorkflow (validate.ts).
import { parse as parseYaml } from 'yaml'
import { checkWorkflowBounds } from './bounds.js'
import { parseDuration } from './duration.js'
import { isFissionDocument, parseFissionStep, parseFissionWorkflow, type FissionTask } from './fission/spec.js'
import { WorkflowValidationError, type ValidationIssue } from './errors.js'

export interface BackoffSpec {
  /** ms before the second attempt */
  initial: number
  /** multiplier per further attempt */
  factor: number
  /** ms cap on one wait */
  max: number
}

export interface RetrySpec {
  /** total attempts, the first included */
  attempts: number
  backoff: BackoffSpec
  /** which errors are retried: HTTP status (503), status class ('5xx'), or error code ('KILN_ERR_FUNCTION_TIMEOUT'). Omitted: any error but an expression error. */
  on?: Array<number | string>
}

export interface SwitchCase {
  if?: string
  then?: StepSpec
  else?: StepSpec
}

/** One step: exactly one of function, workflow, switch, foreach, sleep, fission; plus the policies every step takes. */
export interface StepSpec {
  function?: string
  /** a task of a Fission Workflows document (fission/spec.ts), run by fission/run-task.ts */
  fission?: FissionTask
  workflow?: string
  switch?: SwitchCase[]
  /** an expression (or literal array) giving the items */
  foreach?: unknown
  /** foreach: at most this many items in flight (default 10) */
  concurrency?: number
  /** foreach: the step run for each item ($.item, $.index) */
  do?: StepSpec
  /** sleep: milliseconds */
  sleep?: number
  /** function/workflow: the input, a template */
  input?: unknown
  retry?: RetrySpec
  /** ms per attempt */
  timeout?: number
  /** the fallback step run when this one fails for good ($.error) */
  catch?: StepSpec
  description?: string
}

export interface TaskSpec extends StepSpec {
  requires?: string[]
}

export interface WorkflowSpec {
  name: string
  description?: string
  /** JSON schema for the execution's input */
  input?: Record<string, unknown> | boolean
  tasks: Record<string, TaskSpec>
  /** template for the execution's output; default: an object of every task's output */
  output?: unknown
  /** 'fission': parsed from Fission Workflows' format (its data plane speaks Fission's content types) */
  format?: 'kiln' | 'fission'
}

export type StepKind = 'function' | 'workflow' | 'switch' | 'foreach' | 'sleep' | 'fission'
export const STEP_KINDS: readonly StepKind[] = ['function', 'workflow', 'switch', 'foreach', 'sleep', 'fission']

export function stepKind(step: StepSpec): StepKind {
  for (const k of STEP_KINDS) if (step[k] !== undefined) return k
  throw new Error('step without a kind') // parseWorkflow guarantees one
}

export const DEFAULT_BACKOFF: BackoffSpec = { initial: 100, factor: 2, max: 10_000 }
export const DEFAULT_FOREACH_CONCURRENCY = 10

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/
const TASK_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,62}$/
const TOP_KEYS = new Set(['name', 'description', 'input', 'tasks', 'output', 'format'])
const COMMON_KEYS = ['input', 'retry', 'timeout', 'catch', 'description']
const KIND_KEYS: Record<StepKind, string[]> = {
  function: ['function'],
  workflow: ['workflow'],
  switch: ['switch'],
  foreach: ['foreach', 'concurrency', 'do'],
  sleep: ['sleep'],
  fission: ['fission'],
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/**
 * Parses a workflow from YAML or JSON text (or an already parsed object), checks its structure and
 * normalizes it: durations become milliseconds, `retry: 3` becomes a full retry policy.
 * Throws WorkflowValidationError (code KILN_ERR_VALIDATION) naming each bad field. Idempotent.
 */
export function parseWorkflow(source: string | object): WorkflowSpec {
  let doc: unknown = source
  if (typeof source === 'string') {
    try {
      doc = parseYaml(source)
    } catch (err) {
      throw new WorkflowValidationError([{ field: 'spec', message: `not valid YAML or JSON: ${(err as Error).message}` }])
    }
  }
  checkWorkflowBounds(doc)
  const issues: ValidationIssue[] = []
  const bad = (field: string, message: string) => issues.push({ field, message })
  if (!isObject(doc)) throw new WorkflowValidationError([{ field: 'spec', message: 'must be an object' }])
  if (isFissionDocument(doc)) return parseFissionWorkflow(doc)

  for (const k of Object.keys(doc)) if (!TOP_KEYS.has(k)) bad(k, 'unknown field')
  if (typeof doc.name !== 'string' || !NAME.test(doc.name)) bad('name', 'required: letters, digits, "-", "_" or "." (at most 63)')
  if (doc.description !== undefined && typeof doc.description !== 'string') bad('description', 'must be a string')
  if (doc.input !== undefined && !isObject(doc.input) && typeof doc.input !== 'boolean') bad('input', 'must be a JSON schema (an object)')

  const tasks: Record<string, TaskSpec> = {}
  if (!isObject(doc.tasks) || Object.keys(doc.tasks).length === 0) {
    bad('tasks', 'required: a map of task name to task')
  } else {
    for (const [name, raw] of Object.entries(doc.tasks)) {
      const field = `tasks.${name}`
      if (!TASK_NAME.test(name)) bad(field, 'task names start with a letter or "_" and hold letters, digits, "-" or "_"')
      const task = parseStep(raw, field, true, bad) as TaskSpec | undefined
      if (task) tasks[name] = task
    }
  }
  const spec: WorkflowSpec = { name: doc.name as string, tasks }
  if (doc.description !== undefined) spec.description = doc.description as string
  if (doc.input !== undefined) spec.input = doc.input as WorkflowSpec['input']
  if (doc.output !== undefined) spec.output = doc.output
  if (doc.format !== undefined) {
    if (doc.format !== 'kiln' && doc.format !== 'fission') bad('format', 'kiln or fission')
    else spec.format = doc.format
  }
  if (issues.length) throw new WorkflowValidationError(issues)
  return spec
}

type Bad = (field: string, message: string) => void

function parseStep(raw: unknown, field: string, topLevel: boolean, bad: Bad): StepSpec | undefined {
  if (!isObject(raw)) {
    bad(field, 'must be an object')
    return undefined
  }
  const kinds = STEP_KINDS.filter((k) => raw[k] !== undefined)
  if (kinds.length !== 1) {
    bad(field, kinds.length === 0 ? `needs one of ${STEP_KINDS.join(', ')}` : `has more than one kind (${kinds.join(', ')})`)
    return undefined
  }
  const kind = kinds[0]!
  const allowed = new Set([...COMMON_KEYS, ...KIND_KEYS[kind], ...(topLevel ? ['requires'] : [])])
  for (const k of Object.keys(raw)) {
    if (!allowed.has(k)) bad(`${field}.${k}`, k === 'requires' ? 'only top-level tasks have requires' : `unknown field for a ${kind} task`)
  }
  const step: TaskSpec = {}
  if (typeof raw.description === 'string') step.description = raw.description

  switch (kind) {
    case 'function':
    case 'workflow':
      if (typeof raw[kind] !== 'string' || raw[kind] === '') bad(`${field}.${kind}`, 'must be a name')
      else step[kind] = raw[kind] as string
      break
    case 'sleep': {
      const ms = parseDuration(raw.sleep)
      if (ms === undefined) bad(`${field}.sleep`, 'must be a duration (e.g. 500ms, 5s, 1m) or milliseconds')
      else step.sleep = ms
      break
    }
    case 'switch': {
      if (!Array.isArray(raw.switch) || raw.switch.length === 0) {
        bad(`${field}.switch`, 'must be a list of {if, then} cases, optionally ending with {else}')
        break
      }
      step.switch = []
      raw.switch.forEach((c: unknown, i: number) => {
        const cf = `${field}.switch[${i}]`
        if (!isObject(c)) return bad(cf, 'must be an object')
        for (const k of Object.keys(c)) if (!['if', 'then', 'else'].includes(k)) bad(`${cf}.${k}`, 'unknown field (if, then, else)')
        if (c.else !== undefined) {
          if (c.if !== undefined || c.then !== undefined) bad(cf, 'an else case has no if/then')
          if (i !== (raw.switch as unknown[]).length - 1) bad(cf, 'else must be the last case')
          const s = parseStep(c.else, `${cf}.else`, false, bad)
          if (s) step.switch!.push({ else: s })
          return
        }
        if (typeof c.if !== 'string') bad(`${cf}.if`, 'required: an expression')
        if (c.then === undefined) return bad(`${cf}.then`, 'required: the step to run')
        const s = parseStep(c.then, `${cf}.then`, false, bad)
        if (s && typeof c.if === 'string') step.switch!.push({ if: c.if, then: s })
      })
      break
    }
    case 'fission': {
      const task = parseFissionStep(raw.fission, `${field}.fission`, bad)
      if (task) step.fission = task
      break
    }
    case 'foreach': {
      if (typeof raw.foreach !== 'string' && !Array.isArray(raw.foreach)) bad(`${field}.foreach`, 'must be an expression or a list')
      else step.foreach = raw.foreach
      if (raw.concurrency !== undefined) {
        if (!Number.isInteger(raw.concurrency) || (raw.concurrency as number) < 1) bad(`${field}.concurrency`, 'must be an integer >= 1')
        else step.concurrency = raw.concurrency as number
      }
      if (raw.do === undefined) bad(`${field}.do`, 'required: the step run for each item')
      else {
        const s = parseStep(raw.do, `${field}.do`, false, bad)
        if (s) step.do = s
      }
      break
    }
  }

  if (raw.input !== undefined) {
    if (kind !== 'function' && kind !== 'workflow') bad(`${field}.input`, `a ${kind} task takes no input`)
    else step.input = raw.input
  }
  if (raw.timeout !== undefined) {
    const ms = parseDuration(raw.timeout)
    if (ms === undefined || ms <= 0) bad(`${field}.timeout`, 'must be a positive duration (e.g. 500ms, 5s) or milliseconds')
    else step.timeout = ms
  }
  if (raw.retry !== undefined) {
    const r = parseRetry(raw.retry, `${field}.retry`, bad)
    if (r) step.retry = r
  }
  if (raw.catch !== undefined) {
    const s = parseStep(raw.catch, `${field}.catch`, false, bad)
    if (s) step.catch = s
  }
  if (topLevel && raw.requires !== undefined) {
    if (!Array.isArray(raw.requires) || raw.requires.some((r) => typeof r !== 'string')) bad(`${field}.requires`, 'must be a list of task names')
    else step.requires = [...new Set(raw.requires as string[])]
  }
  return step
}

function parseRetry(raw: unknown, field: string, bad: Bad): RetrySpec | undefined {
  if (typeof raw === 'number') raw = { attempts: raw }
  if (!isObject(raw)) {
    bad(field, 'must be a number of attempts or {attempts, backoff, on}')
    return undefined
  }
  for (const k of Object.keys(raw)) if (!['attempts', 'backoff', 'on'].includes(k)) bad(`${field}.${k}`, 'unknown field (attempts, backoff, on)')
  const out: RetrySpec = { attempts: 1, backoff: { ...DEFAULT_BACKOFF } }
  if (!Number.isInteger(raw.attempts) || (raw.attempts as number) < 1) bad(`${field}.attempts`, 'must be an integer >= 1 (the first attempt included)')
  else out.attempts = raw.attempts as number
  if (raw.backoff !== undefined) {
    if (!isObject(raw.backoff)) bad(`${field}.backoff`, 'must be {initial, factor, max}')
    else {
      for (const k of Object.keys(raw.backoff)) if (!['initial', 'factor', 'max'].includes(k)) bad(`${field}.backoff.${k}`, 'unknown field (initial, factor, max)')
      for (const k of ['initial', 'max'] as const) {
        if (raw.backoff[k] === undefined) continue
        const ms = parseDuration(raw.backoff[k])
        if (ms === undefined) bad(`${field}.backoff.${k}`, 'must be a duration or milliseconds')
        else out.backoff[k] = ms
      }
      if (raw.backoff.factor !== undefined) {
        if (typeof raw.backoff.factor !== 'number' || raw.backoff.factor < 1) bad(`${field}.backoff.factor`, 'must be a number >= 1')
        else out.backoff.factor = raw.backoff.factor
      }
    }
  }
  if (raw.on !== undefined) {
    const on = Array.isArray(raw.on) ? raw.on : [raw.on]
    const ok = on.every((o) => (Number.isInteger(o) && (o as number) >= 100 && (o as number) <= 599) || (typeof o === 'string' && o.length > 0))
    if (!ok) bad(`${field}.on`, 'must list HTTP statuses (503), status classes ("5xx") or error codes')
    else out.on = on as Array<number | string>
  }
  return out
}
