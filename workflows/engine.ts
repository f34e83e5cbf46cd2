// The workflow engine: starts executions, continues unfinished ones after a restart (resume), and runs
// nested workflows as child executions. State lives in the ExecutionStore; functions are called through
// the injected Invoker. Delivery is at-least-once: a task in flight when the engine stopped runs again.
import { randomUUID } from 'node:crypto'
import { TaskFailure, WorkflowError } from './errors.js'
import { checkInput } from './input-schema.js'
import type { Invoker } from './invoker.js'
import { ExecutionRun, type RunHost } from './run.js'
import { parseWorkflow, type WorkflowSpec } from './spec.js'
import type { Execution, ExecutionEvent, ExecutionSummary } from './state/execution.js'
import type { ExecutionFilter, ExecutionStore } from './state/store.js'

/** The subset of pino the engine logs through. */
export interface WorkflowLogger {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
  debug(obj: object, msg?: string): void
}

interface RunEntry {
  /** absent when the execution had already finished */
  run?: ExecutionRun
  done: Promise<Execution>
}

const silent: WorkflowLogger = { info() {}, warn() {}, error() {}, debug() {} }

export interface WorkflowEngineOptions {
  store: ExecutionStore
  invoker: Invoker
  /** the deployed workflow by name (a spec object, or its YAML/JSON text); undefined when there is none */
  getWorkflow(name: string): WorkflowSpec | string | object | undefined | Promise<WorkflowSpec | string | object | undefined>
  logger?: WorkflowLogger
  /** how deep `workflow:` tasks may nest (default 10) */
  maxDepth?: number
}

export interface StartOptions {
  /** resolve as soon as the execution is durably created (default: once it finished) */
  async?: boolean
  /** use this id instead of a random UUID (e.g. an idempotency key); KILN_ERR_CONFLICT when it exists */
  executionId?: string
}

export interface Started {
  executionId: string
  /** the final record (succeeded or failed); rejects only if the engine closes first or the store fails */
  done: Promise<Execution>
}

export class WorkflowEngine {
  private readonly store: ExecutionStore
  private readonly invoker: Invoker
  private readonly getWorkflow: WorkflowEngineOptions['getWorkflow']
  private readonly log: WorkflowLogger
  private readonly maxDepth: number
  private readonly runs = new Map<string, RunEntry>()
  private readonly loading = new Map<string, Promise<RunEntry>>()
  private closed = false
  private readonly host: RunHost

  constructor(opts: WorkflowEngineOptions) {
    this.store = opts.store
    this.invoker = opts.invoker
    this.getWorkflow = opts.getWorkflow
    this.log = opts.logger ?? silent
    this.maxDepth = opts.maxDepth ?? 10
    this.host = {
      store: this.store,
      invoker: this.invoker,
      closing: () => this.closed,
      runChild: (parent, childId, workflow, input, path, signal) => this.runChild(parent, childId, workflow, input, path, signal),
    }
  }

  /**
   * Starts an execution of a deployed workflow. Throws KILN_ERR_WORKFLOW_NOT_FOUND, KILN_ERR_WORKFLOW_INPUT
   * (input does not match the workflow's schema) or KILN_ERR_ENGINE_CLOSED before anything is stored.
   */
  async start(workflow: string, input: unknown, opts: StartOptions = {}): Promise<Started> {
    this.assertOpen()
    const spec = await this.loadWorkflow(workflow)
    checkInput(spec, input)
    const executionId = opts.executionId ?? randomUUID()
    const exec = await this.create(executionId, spec, input, 0, undefined, workflow)
    const done = this.launch(exec)
    if (!opts.async) await done
    return { executionId, done }
  }

  get(executionId: string): Promise<Execution | undefined> {
    return this.store.get(executionId)
  }

  list(filter?: ExecutionFilter): Promise<ExecutionSummary[]> {
    return this.store.list(filter)
  }

  /** The execution's history, oldest first. */
  events(executionId: string): Promise<ExecutionEvent[]> {
    return this.store.events(executionId)
  }

  /**
   * Picks up every unfinished execution in the store and finishes it from where it was: tasks that
   * succeeded are not run again; tasks that were in flight run again (at-least-once); retries wait out
   * what is left of their backoff; sleeps what is left of their duration. Call once on start.
   */
  async resume(): Promise<Started[]> {
    this.assertOpen()
    const ids = await this.store.unfinished()
    const out: Started[] = []
    for (const id of ids) out.push({ executionId: id, done: this.attach(id) })
    this.log.info({ executions: out.length }, 'workflow executions resumed')
    return out
  }

  /** Fails a running execution of this engine with KILN_ERR_CANCELLED (its running tasks are cancelled). */
  async cancel(executionId: string): Promise<Execution> {
    this.assertOpen()
    const entry = await this.entry(executionId)
    entry.run?.abort(new WorkflowError('KILN_ERR_CANCELLED', 'cancelled by request'))
    return entry.done
  }

  /**
   * Stops the engine. Running executions are abandoned, not failed: nothing more is written, they stay
   * unfinished in the store and the next engine's resume() finishes them. Their `done` promises reject
   * with KILN_ERR_ENGINE_CLOSED. The store is the caller's to close.
   */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    const closing = new WorkflowError('KILN_ERR_ENGINE_CLOSED')
    await Promise.allSettled([...this.loading.values()])
    const pending = [...this.runs.values()]
    for (const { run } of pending) run?.abort(closing)
    await Promise.allSettled(pending.map((p) => p.done))
  }

  private assertOpen(): void {
    if (this.closed) throw new WorkflowError('KILN_ERR_ENGINE_CLOSED')
  }

  private async loadWorkflow(name: string): Promise<WorkflowSpec> {
    const found = await this.getWorkflow(name)
    if (found === undefined || found === null) throw new WorkflowError('KILN_ERR_WORKFLOW_NOT_FOUND', `workflow "${name}" not found`)
    return parseWorkflow(found)
  }

  /** `workflow`: the name it was started by (a namespaced workflow's ref); the spec's own name otherwise. */
  private async create(id: string, spec: WorkflowSpec, input: unknown, depth: number, parent?: { id: string; task: string }, workflow = spec.name): Promise<Execution> {
    const event: ExecutionEvent = {
      type: 'execution.created',
      at: new Date().toISOString(),
      execution: { id, workflow, input: input === undefined ? null : input, spec, depth, ...(parent ? { parentId: parent.id, parentTask: parent.task } : {}) },
    }
    await this.store.append(id, event)
    this.log.debug({ executionId: id, workflow: spec.name }, 'workflow execution created')
    return (await this.store.get(id))!
  }

  /** Runs an execution in this engine (once: a second call returns the same promise). */
  private launch(exec: Execution): Promise<Execution> {
    const existing = this.runs.get(exec.id)
    if (existing) return existing.done
    const run = new ExecutionRun(this.host, exec)
    const done = run.run().then(
      (final) => {
        this.log.info({ executionId: final.id, workflow: final.workflow, status: final.status, error: final.error?.code }, 'workflow execution finished')
        return final
      },
      (err) => {
        if (!this.closed) this.log.error({ executionId: exec.id, err }, 'workflow execution stopped')
        throw err
      },
    )
    const entry = { run, done }
    done.catch(() => {}).finally(() => {
      if (this.runs.get(exec.id) === entry) this.runs.delete(exec.id)
    })
    this.runs.set(exec.id, entry)
    return done
  }

  /** The in-process entry of an execution, loading and continuing it from the store when needed. */
  private entry(id: string): Promise<RunEntry> {
    const running = this.runs.get(id)
    if (running) return Promise.resolve(running)
    let loading = this.loading.get(id)
    if (!loading) {
      loading = (async (): Promise<RunEntry> => {
        const exec = await this.store.get(id)
        if (!exec) throw new WorkflowError('KILN_ERR_EXECUTION_NOT_FOUND', `execution ${id} not found`)
        if (exec.status === 'running' && exec.parentId) {
          const parent = await this.store.get(exec.parentId)
          if (parent && parent.status !== 'running') {
            // the parent finished without it (it failed and the child's cancellation was never written)
            const error = { code: 'KILN_ERR_CANCELLED', message: `parent execution ${parent.id} already ${parent.status}` }
            await this.store.append(id, { type: 'execution.failed', at: new Date().toISOString(), error })
            return { done: Promise.resolve((await this.store.get(id))!) }
          }
        }
        if (exec.status !== 'running') return { done: Promise.resolve(exec) }
        this.launch(exec)
        return this.runs.get(id)!
      })()
      this.loading.set(id, loading)
      loading.catch(() => {}).finally(() => this.loading.delete(id))
    }
    return loading
  }

  private attach(id: string): Promise<Execution> {
    const done = this.entry(id).then((e) => e.done)
    done.catch(() => {})
    return done
  }

  private async runChild(parent: Execution, childId: string, workflow: string, input: unknown, path: string, signal: AbortSignal): Promise<unknown> {
    let entry = this.runs.get(childId)
    if (!entry) {
      if (await this.store.get(childId)) entry = await this.entry(childId)
      else {
        if (parent.depth + 1 > this.maxDepth) throw new WorkflowError('KILN_ERR_WORKFLOW_DEPTH', `${path}: workflows nest deeper than ${this.maxDepth}`)
        const spec = await this.loadWorkflow(workflow)
        checkInput(spec, input)
        this.launch(await this.create(childId, spec, input, parent.depth + 1, { id: parent.id, task: path }, workflow))
        entry = this.runs.get(childId)!
      }
    }
    const run = entry.run
    const onAbort = () => {
      if (!this.closed) run?.abort(signal.reason)
    }
    signal.addEventListener('abort', onAbort, { once: true })
    if (signal.aborted) onAbort()
    let child: Execution
    try {
      child = await entry.done
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
    if (signal.aborted) throw signal.reason
    if (child.status === 'failed') {
      const e = child.error ?? { code: 'KILN_ERR_TASK_FAILED', message: 'failed' }
      throw new TaskFailure({ code: e.code, message: `workflow "${workflow}" failed: ${e.message}`, ...(e.status !== undefined ? { status: e.status } : {}), executionId: childId })
    }
    return child.output
  }
}
