// Starts one runtime process: inside its cgroup from its first instruction (via the cgroup wrapper),
// in its sandbox when there is one, on a Unix socket (or an ephemeral 127.0.0.1 port without a sandbox),
// with stdout/stderr captured line by line, and tied to the platform through a stdin pipe so it exits
// when the platform dies, however it dies.
import { setPriority } from 'node:os'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import type { ExitInfo, InstanceSpec, LogSink } from '../backend.js'
import { launchHere, Spawner, type LaunchOptions, type ProcessHandle } from './launcher.js'
import { processTree } from './proc-tree.js'
import { freePort, readChildPid, readReadyLine, waitForPort } from './ready.js'

export interface SpawnedProcess {
  child: ProcessHandle
  port: number
  pid: number
  /** The sandbox's init (bubblewrap's child), whose children are the runtime: signalled for a graceful stop. */
  sandboxPid?: number
  bootMs: number
  exited: Promise<{ code: number | null; signal: string | null }>
}

export interface Wrapper { command: string; args: string[] }

export interface SpawnOptions {
  wrap(argv: string[]): Wrapper
  log: LogSink
  /** The whole command, sandbox prefix included (default: spec.command). */
  command?: string[]
  /** Environment the sandbox adds (KILN_SOCKET, HOME, ...). */
  env?: Record<string, string>
  /** The runtime (or the TCP relay in front of it) listens on this Unix socket and reports ready on fd 3. */
  socketPath?: string
  /**
   * bubblewrap reports its sandbox's init pid on fd 4; this runs with it (networking the sandbox) and the
   * instance is ready only once both it and the runtime are.
   */
  onSandbox?(initPid: number): Promise<void>
}

const HOST = '127.0.0.1'
const BOOT_TIMEOUT_MS = Number(process.env.KILN_BOOT_TIMEOUT_MS ?? 15_000)
const PASS_ENV = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'PYENV_ROOT', 'PYENV_VERSION', 'NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE']

// Every runtime process started from here, so that even an uncaught exception in the platform takes
// them along (by pid: a message to the spawner would not leave before this process exits).
const live = new Set<ProcessHandle>()
process.once('exit', () => {
  for (const c of live) {
    try { if (c.pid !== undefined) process.kill(c.pid, 'SIGKILL') } catch { /* already gone */ }
  }
})

// Runtimes start through the spawner process when it is built (KILN_SPAWNER=0: from this process).
let spawner: Spawner | undefined | null = null
function launcher(): Spawner | undefined {
  if (spawner === null) spawner = process.env.KILN_SPAWNER === '0' ? undefined : Spawner.fromDist()
  return spawner
}

function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {}
  for (const k of PASS_ENV) if (process.env[k] !== undefined) env[k] = process.env[k]!
  return env
}

export async function spawnRuntime(spec: InstanceSpec, o: SpawnOptions): Promise<SpawnedProcess> {
  const t0 = performance.now()
  const socket = o.socketPath !== undefined
  const reportsReady = socket || spec.protocol === 'kiln'
  const port = reportsReady ? 0 : (spec.port || (await freePort(HOST)))
  const env: Record<string, string> = {
    ...baseEnv(),
    ...spec.env,
    PORT: String(port),
    HOST,
    KILN_RUNTIME: spec.runtime,
    KILN_INSTANCE_ID: spec.id,
    KILN_WATCH_STDIN: '1',
    KILN_WARMUP: spec.warmup === false ? '0' : '1',
    ...o.env,
  }
  if (reportsReady) env.KILN_READY_FD = '3'
  const { command, args } = o.wrap(o.command ?? spec.command)
  // A background boot (a pool refill) must not take cpu from requests being served: it boots at low
  // priority and is raised back once ready. Only root may raise it back, so only root lowers it.
  const nice = spec.warmup !== false && CAN_RENICE ? 10 : undefined
  const child = launch({ command, args, env, readyPipe: reportsReady, infoPipe: o.onSandbox !== undefined, nice })
  const exited = child.exited
  const spawnError = child.started.then(() => new Promise<never>(() => undefined))
  pipeLines(child.stdout, (line) => o.log(spec.id, 'stdout', line))
  // The last lines before it is ready say why a boot failed.
  const early: string[] = []
  let booting = true
  pipeLines(child.stderr, (line) => {
    o.log(spec.id, 'stderr', line)
    if (booting) { early.push(line); if (early.length > 5) early.shift() }
  })

  let sandboxPid: number | undefined
  try {
    let actualPort = port
    const sandbox = o.onSandbox
      ? readChildPid(child.info!, BOOT_TIMEOUT_MS).then((pid) => { sandboxPid = pid; return o.onSandbox!(pid) })
      : Promise.resolve()
    sandbox.catch(() => undefined)
    if (reportsReady) {
      const ready = await Promise.race([readReadyLine(child.ready!, BOOT_TIMEOUT_MS), spawnError, sandbox.then(() => new Promise<never>(() => undefined))])
      actualPort = ready.port
    } else {
      await Promise.race([waitForPort(HOST, port, BOOT_TIMEOUT_MS, () => child.alive()), spawnError])
    }
    await Promise.race([sandbox, spawnError])
    await child.started
    booting = false
    // The whole tree: in a sandbox the runtime is bubblewrap's grandchild, and it inherited the nice value.
    if (nice !== undefined && child.pid !== undefined) for (const pid of processTree(child.pid)) renice(pid, 0)
    return { child, port: actualPort, pid: child.pid!, sandboxPid, bootMs: performance.now() - t0, exited }
  } catch (e) {
    booting = false
    child.kill('SIGKILL')
    const x = await exited
    const how = x.signal ? `killed by ${x.signal}` : `exit ${x.code}`
    throw new Error(`${spec.runtime} runtime failed to start (${spec.command.join(' ')}): ${(e as Error).message} (${how})${early.length ? `: ${early.join(' | ').slice(0, 600)}` : ''}`)
  }
}

/** Starts a process through the spawner (or in-process); it is killed with the platform like instances are. */
export function launch(opts: LaunchOptions): ProcessHandle {
  const s = launcher()
  const child = s ? s.launch(opts) : launchHere(opts, (pid, n) => renice(pid, n))
  live.add(child)
  void child.exited.then(() => live.delete(child))
  return child
}

const CAN_RENICE = process.getuid?.() === 0 && process.env.KILN_NICE_BOOTS !== '0'

function renice(pid: number | undefined, priority: number): boolean {
  if (pid === undefined) return false
  try {
    setPriority(pid, priority)
    return true
  } catch {
    return false
  }
}

function pipeLines(stream: Readable, fn: (line: string) => void): void {
  const rl = createInterface({ input: stream, crlfDelay: Infinity })
  rl.on('line', fn)
}

export function describeExit(code: number | null, signal: string | null, oomKilled: boolean): ExitInfo {
  const reason = oomKilled ? 'out of memory' : signal ? `killed by ${signal}` : `exited with code ${code}`
  return { code, signal, oomKilled, reason }
}
