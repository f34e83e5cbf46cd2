// Runs one task of a Fission Workflows document (a step of kind `fission`): resolves its `{ }` inputs in
// the sandbox, then runs what `run` names: an internal function (functions/), a Kiln function (through
// the engine's invoker, shaped as their FormatRequest shapes it), `fission://NAME` (a function, never an
// internal one), or a deployed workflow (a child execution). Nested tasks an internal function chooses
// run as steps of their own under this task's path (`If.then`, `Loop[3]`), so the engine persists them
// and a resumed execution does not run a finished one again.
import { randomUUID } from 'node:crypto'
import { KilnError } from '../../core/errors.js'
import { abortable } from '../abort.js'
import { InvokeError } from '../invoker.js'
import { sandbox, ScriptError } from '../sandbox/sandbox.js'
import type { StepSpec } from '../spec.js'
import type { Scope, StepHost } from '../step.js'
import { runStep } from '../step.js'
import type { TaskState } from '../state/execution.js'
import type { InternalCall } from './call.js'
import { assembleInputs, isExpression, isSpecNode, scanInputs } from './expressions.js'
import { INTERNAL_FUNCTIONS } from './functions/index.js'
import { requestOf } from './http-io.js'
import { buildScope, type InnerTasks } from './scope.js'
import { fissionServices } from './services.js'
import type { FissionTask, FissionWorkflow } from './spec.js'

/** What a nested task carries from the task that runs it. */
interface Frame {
  /** inputs added by the parent (foreach's element, repeat's prev, while's _count) */
  extra: Record<string, unknown>
  /** the nested workflow it belongs to, if any */
  inner?: InnerTasks
}

const frames = new WeakMap<StepSpec, Frame>()
const NOT_RESOLVED_UP_FRONT: Record<string, ReadonlySet<string>> = { while: new Set(['expr']) }

/** `fission://NAME` is a function; `internal://NAME` or a bare internal name an internal function; anything else a function or workflow. */
function resolveRef(run: string): { kind: 'internal'; name: string } | { kind: 'function'; name: string; strict: boolean } {
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.+)$/i.exec(run)
  if (m) {
    const scheme = m[1]!.toLowerCase()
    if (scheme === 'internal' && INTERNAL_FUNCTIONS[m[2]!]) return { kind: 'internal', name: m[2]! }
    return { kind: 'function', name: m[2]!, strict: true }
  }
  if (INTERNAL_FUNCTIONS[run]) return { kind: 'internal', name: run }
  return { kind: 'function', name: run, strict: false }
}

/** Names a function or workflow reference of a task and its nested tasks (for deploy-time checks). */
export function externalReferences(task: FissionTask, field: string, out: Array<{ field: string; name: string; strict: boolean }> = []): typeof out {
  const ref = resolveRef(task.run)
  if (ref.kind === 'function') out.push({ field: `${field}.run`, name: ref.name, strict: ref.strict })
  const walk = (v: unknown, f: string) => {
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>
      if (typeof o.run === 'string' && o.inputs && typeof o.inputs === 'object' && !Array.isArray(o.inputs)) return externalReferences(o as unknown as FissionTask, f, out)
      if (o.tasks && typeof o.tasks === 'object' && !Array.isArray(o.tasks)) {
        for (const [n, t] of Object.entries(o.tasks as Record<string, FissionTask>)) externalReferences(t, `${f}.tasks.${n}`, out)
        return
      }
      for (const [k, item] of Array.isArray(v) ? v.entries() : Object.entries(o)) walk(item, `${f}${Array.isArray(v) ? `[${k}]` : `.${k}`}`)
    }
  }
  for (const [k, v] of Object.entries(task.inputs)) walk(v, `${field}.inputs.${k}`)
  return out
}

/** Every `{ }` expression of a task and its nested tasks (for deploy-time syntax checks). */
export function taskScripts(task: FissionTask, field: string, out: Array<{ field: string; source: string }> = []): typeof out {
  const walk = (v: unknown, f: string) => {
    if (isExpression(v)) out.push({ field: f, source: v })
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>
      if (typeof o.run === 'string' && o.inputs && typeof o.inputs === 'object' && !Array.isArray(o.inputs)) return void taskScripts(o as unknown as FissionTask, f, out)
      for (const [k, item] of Array.isArray(v) ? v.entries() : Object.entries(o)) walk(item, `${f}${Array.isArray(v) ? `[${k}]` : `.${k}`}`)
    }
  }
  for (const [k, v] of Object.entries(task.inputs)) walk(v, `${field}.inputs.${k}`)
  return out
}

/** Runs a nested task or workflow as a step of its own (persisted under `path`). */
function runNested(host: StepHost, path: string, value: FissionTask | FissionWorkflow, frame: Frame, signal: AbortSignal): Promise<unknown> {
  if ('tasks' in value) return runNestedWorkflow(host, path, value, frame, signal)
  const step: StepSpec = { fission: value }
  frames.set(step, frame)
  const scope: Scope = { input: host.exec.input, tasks: {}, execution: { id: host.exec.id, workflow: host.exec.workflow } }
  return runStep(host, path, step, scope, signal)
}

/** A workflow nested in inputs: its tasks by `requires`, in parallel where they can; its output task's output. */
async function runNestedWorkflow(host: StepHost, base: string, wf: FissionWorkflow, frame: Frame, signal: AbortSignal): Promise<unknown> {
  const inner: InnerTasks = { base, tasks: wf.tasks }
  const names = Object.keys(wf.tasks)
  const done = new Set<string>()
  const stop = new AbortController()
  const inner$ = AbortSignal.any([signal, stop.signal])
  const running = new Map<string, Promise<void>>()
  let failure: { err: unknown } | undefined
  while (done.size < names.length && !failure) {
    for (const n of names) {
      if (done.has(n) || running.has(n) || !(wf.tasks[n]!.requires ?? []).every((r) => done.has(r))) continue
      running.set(n, runNested(host, `${base}.${n}`, wf.tasks[n]!, { extra: frame.extra, inner }, inner$).then(
        () => void done.add(n),
        (err) => {
          if (!failure) {
            failure = { err }
            stop.abort(new KilnError('KILN_ERR_CANCELLED', `cancelled: ${base}.${n} failed`))
          }
        },
      ).finally(() => running.delete(n)))
    }
    if (running.size === 0) break
    await Promise.race(running.values())
  }
  await Promise.allSettled(running.values())
  if (failure) throw failure.err
  if (done.size < names.length) throw new KilnError('KILN_ERR_TASK_FAILED', `${base}: tasks never became ready (a cycle in requires?)`)
  return wf.output === undefined ? null : host.exec.tasks[`${base}.${wf.output}`]?.output ?? null
}

/** Resolves the task's inputs: every `{ }` in one sandbox call; nested tasks stay specs. */
async function resolveInputs(host: StepHost, path: string, task: FissionTask, frame: Frame): Promise<Record<string, unknown>> {
  const sites = scanInputs(task.inputs, NOT_RESOLVED_UP_FRONT[task.run] ?? new Set())
  const visible = { ...task.inputs, ...frame.extra }
  if (sites.length === 0) return { ...visible }
  for (const s of sites) if (s.at.length === 0) delete visible[s.key]
  const scope = buildScope(host.exec, { id: path, task, inputs: visible }, frame.inner)
  let values: unknown[]
  try {
    values = await sandbox().scripts(scope, path, sites.map((s) => (s.at.length === 0 ? { source: s.source, key: s.key } : { source: s.source })))
  } catch (err) {
    if (err instanceof ScriptError && err.index !== undefined) {
      const s = sites[err.index]!
      throw new KilnError(err.code, `${path}.inputs.${s.key}${s.at.map((a) => (typeof a === 'number' ? `[${a}]` : `.${a}`)).join('')}: ${s.source.trim().slice(0, 120)}: ${err.message}`)
    }
    throw err
  }
  return { ...assembleInputs(task.inputs, sites, values), ...frame.extra }
}

export async function runFissionTask(host: StepHost, path: string, step: StepSpec, signal: AbortSignal): Promise<unknown> {
  const task = step.fission!
  const frame = frames.get(step) ?? { extra: {} }
  const inputs = await resolveInputs(host, path, task, frame)
  // Recorded with the task's next state (success), so `$.Tasks.ID.Inputs` and input('ID') read them.
  const state = host.exec.tasks[path]
  if (state) state.inputs = inputs
  const ref = resolveRef(task.run)

  if (ref.kind === 'internal') {
    const call: InternalCall = {
      path,
      inputs,
      raw: task.inputs,
      signal,
      services: fissionServices(host.invoker),
      isTask: (v) => isSpecNode(v),
      run: (value, suffix, extra = {}, sig = signal) =>
        isSpecNode(value) ? runNested(host, `${path}${suffix}`, value as unknown as FissionTask | FissionWorkflow, { extra, ...(frame.inner ? { inner: frame.inner } : {}) }, sig) : Promise.resolve(value ?? null),
      evaluate: async (source, extra) => {
        if (!isExpression(source)) return source
        const visible = { ...inputs, ...extra }
        const [value] = await sandbox().scripts(buildScope(host.exec, { id: path, task, inputs: visible }, frame.inner), path, [{ source }])
        return value
      },
      state: () => host.exec.tasks[path] ?? ({ status: 'running', startedAt: new Date().toISOString(), attempts: 1 } satisfies TaskState),
      progress: (patch) => host.persistTask('task.progress', path, { ...host.exec.tasks[path]!, ...patch }),
    }
    return INTERNAL_FUNCTIONS[ref.name]!(call)
  }

  // A function (their Fission fnenv): the body is `body` or `default`; POST unless `method` says otherwise.
  const body = inputs.body ?? inputs.default ?? null
  const request = requestOf(inputs, body, 'POST')
  const opts = { signal, executionId: host.exec.id, task: path, request }
  try {
    return await abortable(host.invoker.invoke(ref.name, body, opts), signal)
  } catch (err) {
    if (ref.strict || !(err instanceof InvokeError) || err.code !== 'KILN_ERR_FUNCTION_NOT_FOUND') throw err
  }
  // Not a function: a deployed workflow of that name runs as a child execution (workflows are functions in Fission).
  let childId = host.exec.tasks[path]?.childExecutionId
  if (!childId) {
    childId = randomUUID()
    await host.persistTask('task.progress', path, { ...host.exec.tasks[path]!, childExecutionId: childId })
  }
  const custom = inputs.headers !== undefined || inputs.query !== undefined || inputs.method !== undefined
  const childInput = custom ? { body, headers: request.headers, query: request.query, method: request.method } : body
  try {
    return await host.runChild(childId, ref.name, childInput, path, signal)
  } catch (err) {
    if ((err as KilnError).code === 'KILN_ERR_WORKFLOW_NOT_FOUND') throw new KilnError('KILN_ERR_FUNCTION_NOT_FOUND', `${path}: no function or workflow "${ref.name}"`)
    throw err
  }
}
