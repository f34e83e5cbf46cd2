// Fission Workflows' format (fission/fission-workflows Docs/, pkg/parse/yaml): `apiVersion`, `output`
// (the task whose output is the workflow's), `tasks` of `{run, inputs, requires}`. It becomes a Kiln
// WorkflowSpec whose tasks are of kind `fission` (run by fission/run-task.ts) and whose output is the
// output task's, so the engine schedules, persists and resumes it like any workflow.
//
// As their parser does: a task without `run` runs `noop`; a null task is dropped; `inputs` that is a map
// names the inputs, anything else is the `default` input; a map with `run` inside the inputs is a nested
// task (run when an internal function chooses it: if/then, foreach/do, ...), a map with `tasks` a
// nested workflow.
import type { ValidationIssue } from '../errors.js'
import { WorkflowValidationError } from '../errors.js'
import type { TaskSpec, WorkflowSpec } from '../spec.js'

/** A task of Fission Workflows, normalized: inputs is always a map. */
export interface FissionTask {
  run: string
  inputs: Record<string, unknown>
  /** only inside a nested workflow (top-level tasks keep theirs on the Kiln task) */
  requires?: string[]
}

/** A workflow nested in inputs (a dynamic sub-workflow). */
export interface FissionWorkflow {
  tasks: Record<string, FissionTask>
  output?: string
}

const TOP_KEYS = new Set(['name', 'description', 'apiVersion', 'apiversion', 'output', 'tasks', 'format'])
const TASK_KEYS = new Set(['id', 'run', 'inputs', 'requires'])
const WORKFLOW_KEYS = new Set(['apiVersion', 'apiversion', 'description', 'output', 'tasks'])
const TASK_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,62}$/
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/
export const DEFAULT_INPUT = 'default'

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** A literal map that their parser reads as a task: a string `run` and nothing but task fields. */
export function looksLikeTask(v: unknown): v is Record<string, unknown> {
  return isObject(v) && typeof v.run === 'string' && Object.keys(v).every((k) => TASK_KEYS.has(k))
}

/** A literal map read as a workflow: `tasks` (a map) and nothing but workflow fields. */
export function looksLikeWorkflow(v: unknown): v is Record<string, unknown> {
  return isObject(v) && isObject(v.tasks) && Object.keys(v).every((k) => WORKFLOW_KEYS.has(k))
}

/**
 * True for a document in Fission Workflows' format: it says `format: fission`, has an `apiVersion`, or
 * a task that is null or has `run`/`inputs` (Kiln's tasks have neither). A spec this module already
 * normalized (tasks of kind `fission`) is Kiln's.
 */
export function isFissionDocument(doc: Record<string, unknown>): boolean {
  const tasks = isObject(doc.tasks) ? Object.values(doc.tasks) : []
  if (tasks.some((t) => isObject(t) && 'fission' in t)) return false
  if (doc.format === 'fission' || 'apiVersion' in doc || 'apiversion' in doc) return true
  return tasks.some((t) => t === null || (isObject(t) && ('run' in t || 'inputs' in t)))
}

type Bad = (field: string, message: string) => void

/** Inputs of a task: a map is named inputs; anything else is the default input. Nested tasks and workflows are normalized. */
function normalizeInputs(raw: unknown, field: string, bad: Bad): Record<string, unknown> {
  if (raw === undefined || raw === null) return {}
  if (!isObject(raw)) return { [DEFAULT_INPUT]: normalizeValue(raw, field, bad) }
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(raw)) out[k] = normalizeValue(v, `${field}.${k}`, bad)
  return out
}

/** A literal input value: nested tasks and workflows become normalized specs, the rest stays as it is. */
function normalizeValue(v: unknown, field: string, bad: Bad): unknown {
  if (looksLikeTask(v)) return normalizeTask(v, field, bad, true)
  if (looksLikeWorkflow(v)) return normalizeNestedWorkflow(v, field, bad)
  if (Array.isArray(v)) return v.map((item, i) => normalizeValue(item, `${field}[${i}]`, bad))
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, normalizeValue(item, `${field}.${k}`, bad)]))
  return v
}

function normalizeRequires(raw: unknown, field: string, bad: Bad): string[] | undefined {
  if (raw === undefined || raw === null) return undefined
  if (!Array.isArray(raw) || raw.some((r) => typeof r !== 'string')) {
    bad(`${field}.requires`, 'must be a list of task names')
    return undefined
  }
  return [...new Set(raw as string[])]
}

function normalizeTask(raw: Record<string, unknown>, field: string, bad: Bad, nested: boolean): FissionTask {
  for (const k of Object.keys(raw)) if (!TASK_KEYS.has(k)) bad(`${field}.${k}`, 'unknown field (run, inputs, requires)')
  let run = 'noop'
  if (raw.run !== undefined && raw.run !== null) {
    if (typeof raw.run !== 'string' || raw.run.trim() === '') bad(`${field}.run`, 'must be a function reference (a function, an internal function or fission://NAME)')
    else run = raw.run.trim()
  }
  const task: FissionTask = { run, inputs: normalizeInputs(raw.inputs, `${field}.inputs`, bad) }
  if (nested) {
    const requires = normalizeRequires(raw.requires, field, bad)
    if (requires) task.requires = requires
  }
  return task
}

function normalizeNestedWorkflow(raw: Record<string, unknown>, field: string, bad: Bad): FissionWorkflow {
  const tasks: Record<string, FissionTask> = {}
  for (const [name, t] of Object.entries(raw.tasks as Record<string, unknown>)) {
    if (t === null || t === undefined) continue
    if (!TASK_NAME.test(name)) bad(`${field}.tasks.${name}`, 'task names start with a letter or "_" and hold letters, digits, "-" or "_"')
    if (!isObject(t)) {
      bad(`${field}.tasks.${name}`, 'must be a task {run, inputs, requires}')
      continue
    }
    tasks[name] = normalizeTask(t, `${field}.tasks.${name}`, bad, true)
  }
  for (const [name, t] of Object.entries(tasks)) for (const r of t.requires ?? []) if (!tasks[r]) bad(`${field}.tasks.${name}.requires`, `unknown task "${r}"`)
  const wf: FissionWorkflow = { tasks }
  if (raw.output !== undefined && raw.output !== null) {
    if (typeof raw.output !== 'string' || !tasks[raw.output]) bad(`${field}.output`, `must name one of its tasks (${Object.keys(tasks).join(', ')})`)
    else wf.output = raw.output
  }
  return wf
}

/** The Kiln template that yields the output task's output. */
export function outputTemplate(task: string): string {
  return `{{ $.tasks.\`${task}\`.output }}`
}

/**
 * Parses a Fission Workflows document into a Kiln WorkflowSpec (tasks of kind `fission`). Throws
 * WorkflowValidationError naming every bad field, as parseWorkflow does.
 */
export function parseFissionWorkflow(doc: Record<string, unknown>): WorkflowSpec {
  const issues: ValidationIssue[] = []
  const bad: Bad = (field, message) => issues.push({ field, message })
  for (const k of Object.keys(doc)) if (!TOP_KEYS.has(k)) bad(k, 'unknown field (apiVersion, output, tasks, description)')
  if (typeof doc.name !== 'string' || !NAME.test(doc.name)) bad('name', 'required: letters, digits, "-", "_" or "." (at most 63); `kiln wf deploy` takes it from --name or the file name')
  if (doc.description !== undefined && typeof doc.description !== 'string') bad('description', 'must be a string')
  const tasks: Record<string, TaskSpec> = {}
  if (!isObject(doc.tasks) || Object.keys(doc.tasks).length === 0) bad('tasks', 'required: a map of task name to {run, inputs, requires}')
  else {
    for (const [name, raw] of Object.entries(doc.tasks)) {
      const field = `tasks.${name}`
      if (raw === null || raw === undefined) continue // their parser skips null tasks
      if (!TASK_NAME.test(name)) bad(field, 'task names start with a letter or "_" and hold letters, digits, "-" or "_"')
      if (!isObject(raw)) {
        bad(field, 'must be a task {run, inputs, requires}')
        continue
      }
      const task: TaskSpec = { fission: normalizeTask(raw, field, bad, false) }
      const requires = normalizeRequires(raw.requires, field, bad)
      if (requires) task.requires = requires
      tasks[name] = task
    }
    if (Object.keys(tasks).length === 0) bad('tasks', 'holds no task')
  }
  const spec: WorkflowSpec = { name: doc.name as string, format: 'fission', tasks, output: null }
  if (typeof doc.description === 'string') spec.description = doc.description
  if (doc.output !== undefined && doc.output !== null) {
    if (typeof doc.output !== 'string' || !tasks[doc.output]) bad('output', `must name the task whose output is the workflow's (one of ${Object.keys(tasks).join(', ') || 'none'})`)
    else spec.output = outputTemplate(doc.output)
  }
  if (issues.length) throw new WorkflowValidationError(issues)
  return spec
}

/** Re-reads a normalized `fission:` step (a stored execution's spec, a parsed spec parsed again). */
export function parseFissionStep(raw: unknown, field: string, bad: Bad): FissionTask | undefined {
  if (!isObject(raw) || typeof raw.run !== 'string' || !isObject(raw.inputs)) {
    bad(field, 'must be {run, inputs}')
    return undefined
  }
  return raw as unknown as FissionTask
}
