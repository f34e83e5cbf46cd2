// One step of an execution: the policies every step takes (retry with backoff, per-attempt timeout,
// catch) around the step's kind (function, workflow, switch, foreach, sleep). Every state change is
// persisted before the step goes on; a step whose state says `succeeded` is never run again.
import { randomUUID } from 'node:crypto'
import { abortable, sleep, sleepUntil } from './abort.js'
import { TaskFailure, WorkflowError, toErrorInfo, type ErrorInfo } from './errors.js'
import { evaluateCondition, evaluateTemplate, truthy } from './expressions.js'
import type { Invoker } from './invoker.js'
import { backoffDelay, shouldRetry } from './retry.js'
import { runFissionTask } from './fission/run-task.js'
import { DEFAULT_FOREACH_CONCURRENCY, stepKind, type StepSpec } from './spec.js'
import type { Execution, TaskEventType, TaskState } from './state/execution.js'

/** What an expression sees as `$`. */
export interface Scope {
  input: unknown
  /** top-level tasks that succeeded: {output, attempts, startedAt, finishedAt} */
  tasks: Record<string, { output: unknown; attempts: number; startedAt: string; finishedAt?: string }>
  execution: { id: string; workflow: string }
  /** inside foreach */
  item?: unknown
  index?: number
  /** inside catch: the error caught */
  error?: ErrorInfo
}

/** What a step needs from the execution it runs in (implemented by ExecutionRun). */
export interface StepHost {
  readonly exec: Execution
  readonly invoker: Invoker
  /** persists a task event, then applies it to exec */
  persistTask(type: TaskEventType, path: string, state: TaskState): Promise<void>
  /** true once the engine is closing: nothing more is persisted, runs are abandoned */
  closing(): boolean
  /** runs (or re-attaches to) a child execution and returns its output; throws its error */
  runChild(childId: string, workflow: string, input: unknown, path: string, signal: AbortSignal): Promise<unknown>
}

const iso = (ms = Date.now()) => new Date(ms).toISOString()

/** Keeps the kind's bookkeeping of an interrupted attempt, so a re-run picks up where it was. */
function carried(prev: TaskState): Partial<TaskState> {
  const c: Partial<TaskState> = {}
  if (prev.wakeAt !== undefined) c.wakeAt = prev.wakeAt
  if (prev.childExecutionId !== undefined) c.childExecutionId = prev.childExecutionId
  if (prev.branch !== undefined) c.branch = prev.branch
  if (prev.items !== undefined) c.items = prev.items
  return c
}

export async function runStep(host: StepHost, path: string, step: StepSpec, scope: Scope, signal: AbortSignal): Promise<unknown> {
  const prev = host.exec.tasks[path]
  if (prev?.status === 'succeeded') return prev.output
  const resumed = prev !== undefined && (prev.status === 'running' || prev.status === 'retrying' || prev.status === 'catching')
  const startedAt = resumed ? prev.startedAt : iso()
  let attempt = 1
  let state: TaskState = { status: 'running', startedAt, attempts: attempt }
  let failed: ErrorInfo | undefined

  try {
    if (resumed && prev.status === 'catching') {
      failed = prev.error ?? { code: 'KILN_ERR_TASK_FAILED', message: 'failed' }
      attempt = prev.attempts
    } else if (resumed && prev.status === 'running') {
      attempt = prev.attempts
      state = { ...state, ...carried(prev) }
    } else if (resumed && prev.status === 'retrying') {
      attempt = prev.attempts + 1
      await sleep(Date.parse(prev.nextAttemptAt ?? '') - Date.now() || 0, signal)
    }

    while (!failed) {
      state = { ...state, status: 'running', startedAt, attempts: attempt }
      if (step.sleep !== undefined && state.wakeAt === undefined) state.wakeAt = iso(Date.now() + step.sleep)
      await host.persistTask('task.started', path, state)
      try {
        const output = await runAttempt(host, path, step, scope, signal)
        const done: TaskState = { ...host.exec.tasks[path]!, status: 'succeeded', finishedAt: iso(), output: output === undefined ? null : output }
        delete done.error
        await host.persistTask('task.succeeded', path, done)
        return done.output
      } catch (err) {
        if (signal.aborted || host.closing()) throw err
        const error = toErrorInfo(err)
        if (!shouldRetry(step.retry, attempt, error)) {
          failed = error
          break
        }
        const delay = backoffDelay(step.retry!, attempt)
        await host.persistTask('task.retrying', path, { ...carried(host.exec.tasks[path]!), status: 'retrying', startedAt, attempts: attempt, error, nextAttemptAt: iso(Date.now() + delay) })
        await sleep(delay, signal)
        attempt++
        state = { status: 'running', startedAt, attempts: attempt }
      }
    }

    if (step.catch) {
      await host.persistTask('task.catching', path, { ...carried(host.exec.tasks[path]!), status: 'catching', startedAt, attempts: attempt, error: failed })
      try {
        const output = await runStep(host, `${path}.catch`, step.catch, { ...scope, error: failed }, signal)
        await host.persistTask('task.succeeded', path, { ...carried(host.exec.tasks[path]!), status: 'succeeded', startedAt, finishedAt: iso(), attempts: attempt, output, caught: failed })
        return output
      } catch (err) {
        if (signal.aborted || host.closing()) throw err
        failed = toErrorInfo(err)
      }
    }
    await host.persistTask('task.failed', path, { ...carried(host.exec.tasks[path] ?? state), status: 'failed', startedAt, finishedAt: iso(), attempts: attempt, error: failed })
    throw new TaskFailure({ ...failed, task: failed.task ?? path })
  } catch (err) {
    if (host.closing() || !signal.aborted || err instanceof TaskFailure) throw err
    // cancelled from above: the execution failed elsewhere, or a timeout fired around this step
    const reason = signal.reason
    await host
      .persistTask('task.cancelled', path, { ...carried(host.exec.tasks[path] ?? state), status: 'cancelled', startedAt, finishedAt: iso(), attempts: attempt, error: toErrorInfo(reason) })
      .catch(() => {})
    throw reason
  }
}

/** One attempt: the step's kind, under the step's timeout. */
async function runAttempt(host: StepHost, path: string, step: StepSpec, scope: Scope, signal: AbortSignal): Promise<unknown> {
  if (step.timeout === undefined) return runKind(host, path, step, scope, signal)
  const timer = new AbortController()
  const handle = setTimeout(() => timer.abort(new WorkflowError('KILN_ERR_TASK_TIMEOUT', `task ${path} timed out after ${step.timeout}ms`)), step.timeout)
  try {
    return await runKind(host, path, step, scope, AbortSignal.any([signal, timer.signal]))
  } catch (err) {
    if (timer.signal.aborted && !signal.aborted) throw timer.signal.reason
    throw err
  } finally {
    clearTimeout(handle)
  }
}

async function field(path: string, name: string, fn: () => Promise<unknown>): Promise<unknown> {
  try {
    return await fn()
  } catch (err) {
    if ((err as WorkflowError).code === 'KILN_ERR_EXPRESSION') throw new WorkflowError('KILN_ERR_EXPRESSION', `${path}.${name}: ${(err as Error).message}`)
    throw err
  }
}

/** A function or workflow step without `input` gets the foreach item inside a foreach, else the workflow's input. */
function stepInput(path: string, step: StepSpec, scope: Scope): Promise<unknown> {
  if (step.input === undefined) return Promise.resolve('item' in scope ? scope.item : scope.input)
  return field(path, 'input', () => evaluateTemplate(step.input, scope))
}

async function progress(host: StepHost, path: string, patch: Partial<TaskState>): Promise<void> {
  await host.persistTask('task.progress', path, { ...host.exec.tasks[path]!, ...patch })
}

async function runKind(host: StepHost, path: string, step: StepSpec, scope: Scope, signal: AbortSignal): Promise<unknown> {
  switch (stepKind(step)) {
    case 'function': {
      const input = await stepInput(path, step, scope)
      const opts = { signal, executionId: host.exec.id, task: path, ...(step.timeout !== undefined ? { timeoutMs: step.timeout } : {}) }
      return abortable(host.invoker.invoke(step.function!, input, opts), signal)
    }
    case 'sleep':
      await sleepUntil(Date.parse(host.exec.tasks[path]!.wakeAt!), signal)
      return null
    case 'workflow': {
      const input = await stepInput(path, step, scope)
      let childId = host.exec.tasks[path]!.childExecutionId
      if (!childId) {
        childId = randomUUID()
        await progress(host, path, { childExecutionId: childId })
      }
      return host.runChild(childId, step.workflow!, input, path, signal)
    }
    case 'switch': {
      const cases = step.switch!
      let branch = host.exec.tasks[path]!.branch
      if (branch === undefined) {
        branch = -1
        for (let i = 0; i < cases.length; i++) {
          const c = cases[i]!
          if (c.else || truthy(await field(path, `switch[${i}].if`, () => evaluateCondition(c.if!, scope)))) {
            branch = i
            break
          }
        }
        await progress(host, path, { branch })
      }
      if (branch < 0) return null
      const chosen = cases[branch]!
      return chosen.else ? runStep(host, `${path}.else`, chosen.else, scope, signal) : runStep(host, `${path}.then[${branch}]`, chosen.then!, scope, signal)
    }
    case 'foreach':
      return runForeach(host, path, step, scope, signal)
    case 'fission':
      return runFissionTask(host, path, step, signal)
  }
}

async function runForeach(host: StepHost, path: string, step: StepSpec, scope: Scope, signal: AbortSignal): Promise<unknown[]> {
  const value = await field(path, 'foreach', () => (typeof step.foreach === 'string' ? evaluateCondition(step.foreach, scope) : evaluateTemplate(step.foreach, scope)))
  const items = value === undefined || value === null ? [] : Array.isArray(value) ? value : [value]
  if (host.exec.tasks[path]!.items !== items.length) await progress(host, path, { items: items.length })
  const results: unknown[] = new Array(items.length)
  const stop = new AbortController()
  const inner = AbortSignal.any([signal, stop.signal])
  let next = 0
  let first: { err: unknown } | undefined
  const worker = async () => {
    while (!first && !inner.aborted && next < items.length) {
      const i = next++
      try {
        results[i] = await runStep(host, `${path}[${i}]`, step.do!, { ...scope, item: items[i], index: i }, inner)
      } catch (err) {
        if (!first) {
          first = { err }
          stop.abort(new WorkflowError('KILN_ERR_CANCELLED', `cancelled: ${path}[${i}] failed`))
        }
      }
    }
  }
  const width = Math.min(step.concurrency ?? DEFAULT_FOREACH_CONCURRENCY, items.length)
  await Promise.all(Array.from({ length: width }, worker))
  if (first) throw first.err
  if (signal.aborted) throw signal.reason
  return results
}
