// The expression sandbox: every workflow expression (Kiln's JSONata templates, Fission Workflows'
// JavaScript) runs here, in a pool of worker processes, never on the platform's event loop. Each
// evaluation has a time limit (a hard kill of the worker past it) and a memory limit (the worker's V8
// heap for JSONata, QuickJS's own limit for JavaScript). A runaway expression fails its task with
// KILN_ERR_EXPRESSION_LIMIT while the platform, other workflows and /fn keep answering.
import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { KilnError } from '../../core/errors.js'
import { distDir } from '../../core/paths.js'
import type { SandboxAnswer, SandboxJob } from './jobs.js'
import { PoolError, WorkerPool } from './pool.js'

export interface SandboxOptions {
  /** per evaluation (default 1000 ms); the worker is killed this long plus `graceMs` after it started */
  timeMs?: number
  graceMs?: number
  /** heap of each worker, for JSONata (default 128 MiB) */
  heapMb?: number
  /** what a JavaScript expression may allocate beyond its data (default 32 MiB) */
  scriptMemoryMb?: number
  /** workers (default: the cpu count, at least 2, at most 8) */
  workers?: number
  /** the worker's built entry (default dist/expression-worker.js) */
  file?: string
}

/** A script of a ScriptJob failed: `index` says which. */
export class ScriptError extends KilnError {
  constructor(code: 'KILN_ERR_EXPRESSION' | 'KILN_ERR_EXPRESSION_LIMIT', message: string, readonly index?: number) {
    super(code, message)
  }
}

export class ExpressionSandbox {
  readonly timeMs: number
  private readonly graceMs: number
  private readonly scriptMemoryBytes: number
  private readonly pool: WorkerPool

  constructor(opts: SandboxOptions = {}) {
    this.timeMs = opts.timeMs ?? 1000
    this.graceMs = opts.graceMs ?? 250
    this.scriptMemoryBytes = (opts.scriptMemoryMb ?? 32) * 1024 * 1024
    const file = opts.file ?? join(distDir(), 'expression-worker.js')
    if (!existsSync(file)) throw new KilnError('KILN_ERR_INTERNAL', `the expression sandbox is not built (${file}); run \`node build.mjs\``)
    const heapMb = opts.heapMb ?? 128
    this.pool = new WorkerPool({
      file,
      size: opts.workers ?? Math.min(8, Math.max(2, availableParallelism())),
      heapMb,
    })
  }

  /** A Kiln template (JSONata `{{ }}`) against its context. Throws KILN_ERR_EXPRESSION or KILN_ERR_EXPRESSION_LIMIT. */
  template(template: unknown, context: unknown): Promise<unknown> {
    return this.run({ kind: 'template', template, context }, this.timeMs)
  }

  condition(value: string, context: unknown): Promise<unknown> {
    return this.run({ kind: 'condition', value, context }, this.timeMs)
  }

  /** Fission Workflows `{ ... }` scripts (QuickJS), in order; one value per script. Throws ScriptError naming the script. */
  async scripts(scope: unknown, taskId: string, scripts: Array<{ source: string; key?: string }>, globals?: Record<string, unknown>): Promise<unknown[]> {
    if (scripts.length === 0) return []
    const job: SandboxJob = { kind: 'scripts', scope, taskId, scripts, timeMs: this.timeMs, memoryBytes: this.scriptMemoryBytes, ...(globals ? { globals } : {}) }
    return (await this.run(job, this.timeMs * scripts.length)) as unknown[]
  }

  /** The first source that does not parse as JavaScript, or undefined. */
  async compile(sources: string[]): Promise<{ index: number; message: string } | undefined> {
    if (sources.length === 0) return undefined
    try {
      await this.run({ kind: 'compile', sources }, this.timeMs)
      return undefined
    } catch (err) {
      if (err instanceof ScriptError && err.index !== undefined) return { index: err.index, message: err.message }
      throw err
    }
  }

  get load(): { running: number; waiting: number; workers: number } {
    return this.pool.load
  }

  close(): Promise<void> {
    return this.pool.close()
  }

  private async run(job: SandboxJob, timeMs: number): Promise<unknown> {
    let answer: SandboxAnswer
    try {
      answer = (await this.pool.run(job, timeMs + this.graceMs)) as SandboxAnswer
    } catch (err) {
      if (!(err instanceof PoolError)) throw err
      if (err.reason === 'closed') throw new KilnError('KILN_ERR_SHUTTING_DOWN', err.message)
      if (err.reason === 'crashed') throw new ScriptError('KILN_ERR_EXPRESSION', err.message)
      throw new ScriptError('KILN_ERR_EXPRESSION_LIMIT', err.reason === 'deadline' ? `the expression ran past its time limit of ${timeMs} ms and was stopped` : err.message)
    }
    if (!answer.ok) throw new ScriptError(answer.code, answer.message, answer.index)
    return answer.value
  }
}

let shared: ExpressionSandbox | undefined
let holders = 0

/** The process's sandbox, created on first use (its idle workers do not keep the process alive, and exit with it). */
export function sandbox(): ExpressionSandbox {
  shared ??= new ExpressionSandbox()
  return shared
}

/** A platform that mounts the engine holds the sandbox; the last to let go closes its workers. */
export function holdSandbox(): () => Promise<void> {
  holders++
  let released = false
  return async () => {
    if (released) return
    released = true
    if (--holders > 0 || !shared) return
    const s = shared
    shared = undefined
    await s.close()
  }
}
