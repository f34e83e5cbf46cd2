// The data a Fission Workflows expression sees as `$` (their pkg/controller/expr/scope.go):
// $.Workflow {Id, CreatedAt, UpdatedAt, Status, Tasks}, $.Invocation {Id, CreatedAt, Inputs} and
// $.Tasks[id] {Id, CreatedAt, UpdatedAt, Status, Inputs, Requires, Name, Output}. Times are Unix
// nanoseconds, as theirs (from millisecond clocks). Built from the execution record, so a resumed
// execution sees what the first run saw.
import type { Execution, TaskState } from '../state/execution.js'
import type { FissionTask } from './spec.js'

/** What POST /wf/NAME records as a Fission workflow's input: the invocation, as their ParseRequest maps it. */
export interface Invocation {
  body: unknown
  headers: Record<string, string>
  query: Record<string, string>
  method: string
}

const ENVELOPE_KEYS = ['body', 'headers', 'method', 'query']

/** An execution input that is an invocation (exactly body, headers, query, method); any other input is a body. */
export function isInvocation(v: unknown): v is Invocation {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false
  const keys = Object.keys(v).sort()
  return keys.length === 4 && keys.every((k, i) => k === ENVELOPE_KEYS[i]) && typeof (v as Invocation).method === 'string'
}

/** $.Invocation.Inputs: `default` and `body` are the body; `headers`, `query`, `method` the request's. */
export function invocationInputs(input: unknown): Record<string, unknown> {
  const inv: Invocation = isInvocation(input) ? input : { body: input ?? null, headers: {}, query: {}, method: 'POST' }
  return { default: inv.body, body: inv.body, headers: inv.headers, query: inv.query, method: inv.method }
}

const ns = (iso: string | undefined) => (iso ? Date.parse(iso) * 1e6 : 0)

const STATUS: Record<TaskState['status'], string> = {
  running: 'IN_PROGRESS', retrying: 'IN_PROGRESS', catching: 'IN_PROGRESS', succeeded: 'SUCCEEDED', failed: 'FAILED', cancelled: 'ABORTED',
}

export interface TaskView {
  Id: string
  CreatedAt: number
  UpdatedAt: number
  Status: string
  Inputs: Record<string, unknown>
  Requires: Record<string, object>
  Name: string
  Output?: unknown
}

function taskView(id: string, task: FissionTask | undefined, requires: string[] | undefined, st: TaskState | undefined): TaskView {
  const view: TaskView = {
    Id: id,
    CreatedAt: ns(st?.startedAt),
    UpdatedAt: ns(st?.finishedAt ?? st?.startedAt),
    Status: st ? STATUS[st.status] : 'SCHEDULED',
    Inputs: (st?.inputs as Record<string, unknown> | undefined) ?? { ...(task?.inputs ?? {}) },
    Requires: Object.fromEntries((requires ?? []).map((r) => [r, {}])),
    Name: task?.run ?? '',
  }
  if (st?.status === 'succeeded') view.Output = st.output
  return view
}

/** Inner tasks of a nested workflow the current task belongs to: visible by their own names. */
export interface InnerTasks {
  base: string
  tasks: Record<string, FissionTask>
}

export function buildScope(exec: Execution, current: { id: string; task: FissionTask; inputs: Record<string, unknown> }, inner?: InnerTasks): Record<string, unknown> {
  const tasks: Record<string, TaskView> = {}
  const resolved: Record<string, { Src: string; Runtime: string; Resolved: string }> = {}
  for (const [name, t] of Object.entries(exec.spec.tasks)) {
    if (!t.fission) continue
    resolved[name] = { Src: t.fission.run, Runtime: t.fission.run.includes('://') ? t.fission.run.split('://')[0]! : 'kiln', Resolved: t.fission.run.replace(/^\w+:\/\//, '') }
    const st = exec.tasks[name]
    if (st) tasks[name] = taskView(name, t.fission, t.requires, st)
  }
  if (inner) {
    for (const [name, t] of Object.entries(inner.tasks)) {
      const st = exec.tasks[`${inner.base}.${name}`]
      if (st) tasks[name] = taskView(name, t, t.requires, st)
    }
  }
  const self = taskView(current.id, current.task, undefined, exec.tasks[current.id])
  self.Inputs = current.inputs
  tasks[current.id] = self
  return {
    Workflow: { Id: exec.workflow, CreatedAt: ns(exec.createdAt), UpdatedAt: ns(exec.createdAt), Status: 'READY', Tasks: resolved },
    Invocation: { Id: exec.id, CreatedAt: ns(exec.createdAt), Inputs: invocationInputs(exec.input) },
    Tasks: tasks,
  }
}
