// How a runtime process is started: directly with child_process (in this process), or through the
// spawner process (spawner-main.ts) so that fork() does not stall this process's event loop. Both give
// the same small handle, so spawn.ts does not care which.
import { fork, spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { PassThrough, type Readable } from 'node:stream'
import { distDir } from '../../core/paths.js'
import type { SpawnerReply, SpawnerRequest } from './spawner-protocol.js'

export interface ProcessHandle {
  readonly pid: number | undefined
  readonly stdout: Readable
  readonly stderr: Readable
  /** fd 3 of the child, when asked for. */
  readonly ready: Readable | undefined
  /** fd 4 of the child, when asked for (bubblewrap's --info-fd). */
  readonly info: Readable | undefined
  /** Settles once the process runs (pid known); rejects when it could not be started. */
  readonly started: Promise<void>
  readonly exited: Promise<{ code: number | null; signal: string | null }>
  alive(): boolean
  kill(signal: NodeJS.Signals): void
}

export interface LaunchOptions { command: string; args: string[]; env: Record<string, string>; readyPipe: boolean; infoPipe?: boolean; nice?: number }

export type Launcher = (o: LaunchOptions) => ProcessHandle

/** In-process child_process.spawn (the fallback when dist/spawner.js is not built). */
export function launchHere(o: LaunchOptions, setNice: (pid: number, nice: number) => void): ProcessHandle {
  const child: ChildProcess = spawn(o.command, o.args, { env: o.env, stdio: ['pipe', 'pipe', 'pipe', o.readyPipe ? 'pipe' : 'ignore', ...(o.infoPipe ? ['pipe' as const] : [])] })
  // A write to a dead child's stdin must not take the platform down.
  child.stdin!.on('error', () => undefined)
  let done = false
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.once('exit', (code, signal) => { done = true; resolve({ code, signal }) })
    child.once('error', () => { done = true; resolve({ code: null, signal: null }) })
  })
  const started = new Promise<void>((resolve, reject) => {
    child.once('spawn', () => {
      if (o.nice !== undefined) setNice(child.pid!, o.nice)
      resolve()
    })
    child.once('error', reject)
  })
  started.catch(() => undefined)
  return {
    get pid() { return child.pid },
    stdout: child.stdout!, stderr: child.stderr!, ready: o.readyPipe ? (child.stdio[3] as Readable) : undefined,
    info: o.infoPipe ? (child.stdio[4] as Readable) : undefined,
    started, exited,
    alive: () => !done && child.exitCode === null && child.signalCode === null,
    kill: (signal) => { try { child.kill(signal) } catch { /* already gone */ } },
  }
}

interface Remote {
  via: ChildProcess
  pid: number | undefined
  out: [PassThrough, PassThrough, PassThrough, PassThrough]
  started: { resolve(): void; reject(e: Error): void }
  exit(v: { code: number | null; signal: string | null }): void
  done: boolean
}

/** One spawner process, started on first use and again if it dies. */
export class Spawner {
  private proc: ChildProcess | undefined
  private readonly remotes = new Map<string, Remote>()
  private seq = 0

  constructor(private readonly script: string) {}

  /** dist/spawner.js when it is built; undefined otherwise (the caller spawns in-process). */
  static fromDist(): Spawner | undefined {
    const script = join(distDir(), 'spawner.js')
    return existsSync(script) ? new Spawner(script) : undefined
  }

  launch(o: LaunchOptions): ProcessHandle {
    const id = String(++this.seq)
    const out: Remote['out'] = [new PassThrough({ encoding: 'utf8' }), new PassThrough({ encoding: 'utf8' }), new PassThrough({ encoding: 'utf8' }), new PassThrough({ encoding: 'utf8' })]
    let exit!: Remote['exit']
    const exited = new Promise<{ code: number | null; signal: string | null }>((r) => { exit = r })
    let started!: Remote['started']
    const startedP = new Promise<void>((resolve, reject) => { started = { resolve, reject } })
    startedP.catch(() => undefined)
    const via = this.channel()
    const remote: Remote = { via, pid: undefined, out, started, exit, done: false }
    this.remotes.set(id, remote)
    via.send({ t: 'spawn', id, command: o.command, args: o.args, env: o.env, readyPipe: o.readyPipe, infoPipe: o.infoPipe, nice: o.nice } satisfies SpawnerRequest)
    return {
      get pid() { return remote.pid },
      stdout: out[0], stderr: out[1], ready: o.readyPipe ? out[2] : undefined, info: o.infoPipe ? out[3] : undefined,
      started: startedP, exited,
      alive: () => !remote.done,
      kill: (signal) => { if (!remote.done && via.connected) via.send({ t: 'kill', id, signal } satisfies SpawnerRequest) },
    }
  }

  close(): void {
    this.proc?.disconnect()
    this.proc = undefined
  }

  private channel(): ChildProcess {
    if (this.proc === undefined || !this.proc.connected) this.proc = this.open()
    return this.proc
  }

  private open(): ChildProcess {
    const p = fork(this.script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' })
    p.on('message', (m: SpawnerReply) => this.onMessage(m))
    p.on('error', () => undefined)
    p.once('exit', () => {
      if (this.proc === p) this.proc = undefined
      // Its children were killed with it (their stdin closed, and it kills them on exit).
      for (const [id, r] of this.remotes) if (r.via === p) this.finish(id, r, { code: null, signal: 'SIGKILL' }, new Error('the spawner process exited'))
    })
    // Neither the process nor its channel keeps the platform alive by itself.
    p.unref()
    ;(p.channel as { unref?(): void } | undefined)?.unref?.()
    return p
  }

  private onMessage(m: SpawnerReply): void {
    if (m.t === 'up') return
    const r = this.remotes.get(m.id)
    if (r === undefined) return
    if (m.t === 'spawned') {
      r.pid = m.pid
      r.started.resolve()
    } else if (m.t === 'data') {
      const out = r.out[m.fd - 1]
      if (!out.destroyed && !out.writableEnded) out.write(m.d)
    } else if (m.t === 'exit') {
      r.done = true
      r.exit({ code: m.code, signal: m.signal })
    } else if (m.t === 'close') {
      this.finish(m.id, r, undefined)
    } else if (m.t === 'error') {
      this.finish(m.id, r, { code: null, signal: null }, new Error(m.message))
    }
  }

  private finish(id: string, r: Remote, exit: { code: number | null; signal: string | null } | undefined, err?: Error): void {
    this.remotes.delete(id)
    if (err) r.started.reject(err)
    r.done = true
    if (exit) r.exit(exit)
    for (const s of r.out) s.end()
  }
}
