// Starts one runtime process: inside its cgroup from its first instruction (via the cgroup wrapper),
// on an ephemeral 127.0.0.1 port, with stdout/stderr captured line by line, and tied to the platform
// through a stdin pipe so it exits when the platform dies, however it dies.
import { setPriority } from 'node:os'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import type { ExitInfo, InstanceSpec, LogSink } from '../backend.js'
import { launchHere, Spawner, type ProcessHandle } from './launcher.js'
import { freePort, readReadyLine, waitForPort } from './ready.js'

export interface SpawnedProcess {
  child: ProcessHandle
  port: number
  pid: number
  bootMs: number
  exited: Promise<{ code: number | null; signal: string | null }>
}

export interface Wrapper { command: string; args: string[] }

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

export async function spawnRuntime(spec: InstanceSpec, wrap: (argv: string[]) => Wrapper, log: LogSink): Promise<SpawnedProcess> {
  const t0 = performance.now()
  const reportsReady = spec.protocol === 'kiln'
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
  }
  if (reportsReady) env.KILN_READY_FD = '3'
  const { command, args } = wrap(spec.command)
  // A background boot (a pool refill) must not take cpu from requests being served: it boots at low
  // priority and is raised back once ready. Only root may raise it back, so only root lowers it.
  const nice = spec.warmup !== false && CAN_RENICE ? 10 : undefined
  const opts = { command, args, env, readyPipe: reportsReady, nice }
  const s = launcher()
  const child = s ? s.launch(opts) : launchHere(opts, (pid, n) => renice(pid, n))
  live.add(child)
  const exited = child.exited.then((x) => { live.delete(child); return x })
  const spawnError = child.started.then(() => new Promise<never>(() => undefined))
  pipeLines(child.stdout, (line) => log(spec.id, 'stdout', line))
  pipeLines(child.stderr, (line) => log(spec.id, 'stderr', line))

  try {
    let actualPort = port
    if (reportsReady) {
      const ready = await Promise.race([readReadyLine(child.ready!, BOOT_TIMEOUT_MS), spawnError])
      actualPort = ready.port
    } else {
      await Promise.race([waitForPort(HOST, port, BOOT_TIMEOUT_MS, () => child.alive()), spawnError])
    }
    await child.started
    if (nice !== undefined) renice(child.pid, 0)
    return { child, port: actualPort, pid: child.pid!, bootMs: performance.now() - t0, exited }
  } catch (e) {
    child.kill('SIGKILL')
    await exited
    throw new Error(`${spec.runtime} runtime failed to start (${spec.command.join(' ')}): ${(e as Error).message}`)
  }
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
