// One execution in flight: schedules its DAG (a task starts once every task it depends on succeeded;
// independent tasks run in parallel), fails fast (the first task that fails for good cancels the others),
// and persists the execution's end. Also used to continue an execution loaded from the store.
import { TaskFailure, WorkflowError, toErrorInfo, type ErrorInfo } from './errors.js'
import { taskDependencies } from './dependencies.js'
import { evaluateTemplate } from './expressions.js'
import type { Invoker } from './invoker.js'
import { runStep, type Scope, type StepHost } from './step.js'
import { applyEvent, type Execution, type ExecutionEvent, type TaskEventType, type TaskState } from './state/execution.js'
import type { ExecutionStore } from './state/store.js'

/** What a run needs from its engine. */
export interface RunHost {
  readonly store: ExecutionStore
  readonly invoker: Invoker
  closing(): boolean
  runChild(parent: Execution, childId: string, workflow: string, input: unknown, path: string, signal: AbortSignal): Promise<unknown>
}

const isTopLevel = (path: string) => !/[.[]/.test(path)

export class ExecutionRun implements StepHost {
  readonly exec: Execution
  readonly invoker: Invoker
  private readonly host: RunHost
  private readonly stop = new AbortController()

  constructor(host: RunHost, exec: Execution) {
    this.host = host
    this.exec = exec
    this.invoker = host.invoker
  }

  closing(): boolean {
    return this.host.closing()
  }

  /** Stops the run: with a WorkflowError reason the execution fails with it; once the engine is closing, it is only abandoned. */
  abort(reason: unknown): void {
    this.stop.abort(reason)
  }

  private async persist(event: ExecutionEvent): Promise<void> {
    if (this.host.closing()) throw new WorkflowError('KILN_ERR_ENGINE_CLOSED')
    await this.host.store.append(this.exec.id, event)
    applyEvent(this.exec, event)
  }

  persistTask(type: TaskEventType, path: string, state: TaskState): Promise<void> {
    return this.persist({ type, at: new Date().toISOString(), task: path, state })
  }

  runChild(childId: string, workflow: string, input: unknown, path: string, signal: AbortSignal): Promise<unknown> {
    return this.host.runChild(this.exec, childId, workflow, input, path, signal)
  }

  private scope(): Scope {
    const tasks: Scope['tasks'] = {}
    for (const [path, st] of Object.entries(this.exec.tasks)) {
      if (!isTopLevel(path) || st.status !== 'succeeded') continue
      tasks[path] = { output: st.output, attempts: st.attempts, startedAt: st.startedAt, ...(st.finishedAt ? { finishedAt: st.finishedAt } : {}) }
    }
    return { input: this.exec.input, tasks, execution: { id: this.exec.id, workflow: this.exec.workflow } }
  }

  /** Runs the execution to its end and returns the final record. Rejects only when abandoned (engine closing) or the store fails. */
  async run(): Promise<Execution> {
    const { spec } = this.exec
    const deps = taskDependencies(spec)
    const names = Object.keys(spec.tasks)
    const succeeded = (name: string) => this.exec.tasks[name]?.status === 'succeeded'
    const siblings = new AbortController()
    const signal = AbortSignal.any([this.stop.signal, siblings.signal])
    let failure: unknown

    // resumed after a task had failed for good but before the execution's end was written
    for (const name of names) {
      const st = this.exec.tasks[name]
      if (st?.status === 'failed' && failure === undefined) failure = new TaskFailure({ ...(st.error ?? { code: 'KILN_ERR_TASK_FAILED', message: 'failed' }), task: st.error?.task ?? name })
    }

    const inflight = new Map<string, Promise<void>>()
    const launched = new Set<string>()
    for (;;) {
      if (failure === undefined && !signal.aborted) {
        for (const name of names) {
          if (launched.has(name) || !(succeeded(name) || [...deps.get(name)!].every(succeeded))) continue
          launched.add(name)
          if (succeeded(name)) continue
          const p = runStep(this, name, spec.tasks[name]!, this.scope(), signal)
            .then(
              () => {},
              (err) => {
                if (failure === undefined) {
                  failure = err
                  siblings.abort(new WorkflowError('KILN_ERR_CANCELLED', `cancelled: task ${(err as TaskFailure).task ?? name} failed`))
                }
              },
            )
            .finally(() => inflight.delete(name))
          inflight.set(name, p)
        }
      }
      if (inflight.size === 0) break
      await Promise.race(inflight.values())
    }

    if (this.host.closing()) throw new WorkflowError('KILN_ERR_ENGINE_CLOSED')
    if (this.stop.signal.aborted) failure = this.stop.signal.reason
    const at = () => new Date().toISOString()
    if (failure !== undefined) {
      await this.persist({ type: 'execution.failed', at: at(), error: toErrorInfo(failure) })
      return this.exec
    }
    if (!names.every(succeeded)) {
      const error: ErrorInfo = { code: 'KILN_ERR_TASK_FAILED', message: `tasks never became ready: ${names.filter((n) => !succeeded(n)).join(', ')}` }
      await this.persist({ type: 'execution.failed', at: at(), error })
      return this.exec
    }
    let output: unknown
    try {
      output = spec.output === undefined ? Object.fromEntries(names.map((n) => [n, this.exec.tasks[n]!.output])) : await evaluateTemplate(spec.output, this.scope())
    } catch (err) {
      await this.persist({ type: 'execution.failed', at: at(), error: { ...toErrorInfo(err), message: `output: ${(err as Error).message}` } })
      return this.exec
    }
    await this.persist({ type: 'execution.succeeded', at: at(), output: output === undefined ? null : output })
    return this.exec
  }
}
