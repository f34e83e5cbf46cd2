// A small pool of worker processes for jobs that must not run on the platform's event loop. Each job
// has a hard deadline that starts when a ready worker takes it (not when it is queued, nor while a
// replacement worker boots, so a queue behind runaway jobs does not fail innocent ones): past it the
// worker is SIGKILLed (even a regex in mid backtrack) and replaced. A worker that dies (its heap limit, a crash) fails only its own job.
// Processes, not worker threads: V8 can turn a worker thread's heap exhaustion into a fatal error of the
// whole process (measured: a JSONata $map over 10^7 items aborted the test runner through a worker
// with resourceLimits), while a child process that runs out of heap takes only itself down.
// Written here rather than taken from piscina/tinypool: those are thread pools and time a task from
// submission, not from its start.
import { fork, type ChildProcess } from 'node:child_process'

export interface PoolOptions {
  /** the worker's entry file (built JavaScript) */
  file: string
  /** workers at most */
  size: number
  /** V8 heap of each worker (--max-old-space-size) */
  heapMb: number
  /** an idle worker exits after this long (default 30 s) */
  idleMs?: number
  /** jobs waiting at most; more are refused (default 10 000) */
  maxQueue?: number
}

/** Why a job did not produce an answer. */
export class PoolError extends Error {
  constructor(
    readonly reason: 'deadline' | 'memory' | 'crashed' | 'queue-full' | 'closed',
    message: string,
  ) {
    super(message)
    this.name = 'PoolError'
  }
}

interface Job {
  id: number
  payload: unknown
  deadlineMs: number
  resolve(value: unknown): void
  reject(err: Error): void
}

interface Slot {
  worker: ChildProcess
  job?: Job
  timer?: NodeJS.Timeout
  idle?: NodeJS.Timeout
  /** the end of its stderr: V8 says there why it died */
  stderr: string
  /** booted: it said so once its engines were loaded */
  ready: boolean
}

let nextId = 0

export class WorkerPool {
  private readonly slots = new Set<Slot>()
  private readonly queue: Job[] = []
  private closed = false

  constructor(private readonly opts: PoolOptions) {}

  /** Runs one job; resolves with the worker's answer. Rejects with PoolError when it could not run to an answer. */
  run(payload: unknown, deadlineMs: number): Promise<unknown> {
    if (this.closed) return Promise.reject(new PoolError('closed', 'the expression sandbox is closed'))
    if (this.queue.length >= (this.opts.maxQueue ?? 10_000)) return Promise.reject(new PoolError('queue-full', 'too many expressions are waiting for the sandbox'))
    return new Promise((resolve, reject) => {
      this.queue.push({ id: ++nextId, payload, deadlineMs, resolve, reject })
      this.dispatch()
    })
  }

  /** Jobs running and waiting (for tests and metrics). */
  get load(): { running: number; waiting: number; workers: number } {
    let running = 0
    for (const s of this.slots) if (s.job) running++
    return { running, waiting: this.queue.length, workers: this.slots.size }
  }

  async close(): Promise<void> {
    this.closed = true
    for (const job of this.queue.splice(0)) job.reject(new PoolError('closed', 'the expression sandbox is closed'))
    await Promise.all([...this.slots].map((s) => this.retire(s, new PoolError('closed', 'the expression sandbox is closed'))))
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot: Slot | undefined
      let booting = 0
      for (const s of this.slots) {
        if (!s.ready) booting++
        else if (!s.job) {
          slot = s
          break
        }
      }
      if (!slot) {
        // boot one more worker for what waits beyond those already booting; the job starts once it is ready
        if (this.slots.size < this.opts.size && booting < this.queue.length) this.spawn()
        return
      }
      this.start(slot, this.queue.shift()!)
    }
  }

  private spawn(): Slot {
    const worker = fork(this.opts.file, [], {
      execArgv: [`--max-old-space-size=${this.opts.heapMb}`, `--max-semi-space-size=${Math.max(1, Math.min(16, Math.floor(this.opts.heapMb / 16)))}`],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: {}, // nothing of the platform's environment (tokens, URLs) is an expression's business
    })
    const slot: Slot = { worker, stderr: '', ready: false }
    worker.stderr?.on('data', (d: Buffer) => {
      slot.stderr = (slot.stderr + d.toString('utf8')).slice(-2000)
    })
    // read for the reason of a death only: it must not keep the platform's process alive
    ;(worker.stderr as unknown as { unref?(): void } | null)?.unref?.()
    worker.on('message', (msg: { id: number; value: unknown; ready?: boolean }) => {
      if (msg.ready) {
        slot.ready = true
        this.idle(slot)
        this.dispatch()
        return
      }
      const job = slot.job
      if (!job || msg.id !== job.id) return
      clearTimeout(slot.timer)
      slot.job = undefined
      job.resolve(msg.value)
      this.idle(slot)
      this.dispatch()
    })
    worker.on('error', (err: Error) => this.fail(slot, new PoolError('crashed', `the expression sandbox failed: ${err.message}`)))
    worker.on('exit', (code, signal) => {
      // a worker that dies before it is ready would die again: the first waiting job learns why
      if (!slot.ready && this.slots.has(slot) && !slot.job) {
        this.slots.delete(slot)
        this.queue.shift()?.reject(new PoolError('crashed', `the expression sandbox did not start (${signal ?? `exit ${code}`}): ${slot.stderr.slice(-300)}`))
        this.dispatch()
        return
      }
      const memory = /heap out of memory|Reached heap limit|Allocation failed/i.test(slot.stderr)
      this.fail(slot, memory
        ? new PoolError('memory', `the expression exceeded the sandbox's memory limit of ${this.opts.heapMb} MiB`)
        : new PoolError('crashed', `the expression sandbox stopped (${signal ?? `exit ${code}`})`))
    })
    this.slots.add(slot)
    return slot
  }

  private start(slot: Slot, job: Job): void {
    clearTimeout(slot.idle)
    slot.job = job
    slot.worker.ref()
    slot.worker.channel?.ref()
    slot.timer = setTimeout(() => {
      this.fail(slot, new PoolError('deadline', `the expression ran past its time limit of ${job.deadlineMs} ms`))
    }, job.deadlineMs)
    slot.worker.send({ id: job.id, payload: job.payload })
  }

  private idle(slot: Slot): void {
    // an idle worker does not keep the platform's process alive
    slot.worker.unref()
    slot.worker.channel?.unref()
    slot.idle = setTimeout(() => void this.retire(slot), this.opts.idleMs ?? 30_000)
    slot.idle.unref()
  }

  /** The slot's job fails with err; the worker is terminated and replaced by the next dispatch. */
  private fail(slot: Slot, err: PoolError): void {
    if (!this.slots.has(slot)) return
    void this.retire(slot, err)
    this.dispatch()
  }

  private async retire(slot: Slot, err?: PoolError): Promise<void> {
    if (!this.slots.delete(slot)) return
    clearTimeout(slot.timer)
    clearTimeout(slot.idle)
    const job = slot.job
    slot.job = undefined
    if (job) job.reject(err ?? new PoolError('closed', 'the expression sandbox is closed'))
    if (slot.worker.exitCode === null && slot.worker.signalCode === null) {
      const exited = new Promise<void>((r) => slot.worker.once('exit', () => r()))
      slot.worker.ref() // an idle worker is unref'd: hold the loop until its exit is seen
      slot.worker.kill('SIGKILL')
      await exited
    }
  }
}
