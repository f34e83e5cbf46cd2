// stdout/stderr of instances, attributed to the function each instance serves and kept per function in
// `<data>/logs/<function>.log`, or `<data>/logs/<namespace>/<function>.log` outside `default` (one line
// per output line: time, instance, stream, text). Output of generic instances goes to the platform log
// at debug level.
import { EventEmitter } from 'node:events'
import { createWriteStream, existsSync, mkdirSync, type WriteStream } from 'node:fs'
import { mkdir, open, rename, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { Logger } from 'pino'
import type { LogSink } from '../cluster/backend.js'
import type { InstanceRecord } from '../poolmgr/instance.js'

const MAX_FILE_BYTES = 8 * 1024 * 1024

export class FunctionLogs {
  private readonly streams = new Map<string, { out: WriteStream; bytes: number }>()
  private readonly dir: string
  /** Followers of a function's lines (`kiln fn logs -f`), by function name. */
  private readonly lines = new EventEmitter().setMaxListeners(0)

  constructor(dataDir: string, private readonly lookup: (instanceId: string) => InstanceRecord | undefined, private readonly logger: Logger) {
    this.dir = join(dataDir, 'logs')
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true })
  }

  readonly sink: LogSink = (instanceId, stream, line) => {
    const fn = this.lookup(instanceId)?.fn
    if (fn === undefined) {
      this.logger.debug({ instance: instanceId, stream }, line)
      return
    }
    const text = `${new Date().toISOString()} ${instanceId} ${stream} ${line}\n`
    const s = this.stream(fn)
    s.bytes += text.length
    s.out.write(text)
    if (s.bytes > MAX_FILE_BYTES) this.rotate(fn)
    if (this.lines.listenerCount(fn) > 0) this.lines.emit(fn, text.slice(0, -1))
  }

  /** Each line the function's instances write from now on, until `signal` aborts. */
  follow(fn: string, onLine: (line: string) => void, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve()
    this.lines.on(fn, onLine)
    return new Promise((resolve) => signal.addEventListener('abort', () => { this.lines.off(fn, onLine); resolve() }, { once: true }))
  }

  /** The file of a function's ref (core/refs.ts): `ns/name` is a folder per namespace. */
  private file(fn: string): string {
    return join(this.dir, `${fn}.log`)
  }

  private stream(fn: string): { out: WriteStream; bytes: number } {
    let s = this.streams.get(fn)
    if (!s) {
      const file = this.file(fn)
      if (fn.includes('/')) mkdirSync(dirname(file), { recursive: true })
      const out = createWriteStream(file, { flags: 'a' })
      out.on('error', (err) => this.logger.warn({ err, function: fn }, 'function log not written'))
      s = { out, bytes: 0 }
      this.streams.set(fn, s)
    }
    return s
  }

  private rotate(fn: string): void {
    const s = this.streams.get(fn)
    if (!s) return
    this.streams.delete(fn)
    const file = this.file(fn)
    s.out.end(() => { void rename(file, `${file}.1`).catch(() => undefined) })
  }

  /** The last `tail` lines of a function's log (after flushing what is buffered). */
  async read(fn: string, tail: number): Promise<string[]> {
    const s = this.streams.get(fn)
    // Writes are handled in order: an empty one's callback comes once everything before it is in the file
    // ('drain' would never come for a buffer that never filled).
    if (s && s.out.writableLength > 0) await new Promise<void>((r) => s.out.write(Buffer.alloc(0), () => r()))
    const file = this.file(fn)
    if (!existsSync(file)) return []
    const size = (await stat(file)).size
    const want = Math.min(size, Math.max(64 * 1024, tail * 512))
    const fh = await open(file, 'r')
    try {
      const buf = Buffer.alloc(want)
      await fh.read(buf, 0, want, size - want)
      const lines = buf.toString('utf8').split('\n').filter((l) => l.length > 0)
      if (want < size) lines.shift()
      return lines.slice(-tail)
    } finally {
      await fh.close()
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.streams.values()].map((s) => new Promise((r) => s.out.end(r))))
    this.streams.clear()
  }
}
