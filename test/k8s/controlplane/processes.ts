// Child processes of a test control plane: each in its own process group, logging to a file,
// stopped by group (TERM, then KILL after a grace period) so no grandchild is left behind.
// If the test runner itself exits first, an exit hook kills every group still running.
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, readFileSync } from 'node:fs'
import { createServer } from 'node:net'

export interface Managed {
  name: string
  child: ChildProcess
  logPath: string
  exited: Promise<number | null>
  /** exit code once the process is gone, else undefined */
  exitCode(): number | null | undefined
}

const running = new Set<ChildProcess>()
let hooked = false

function killAllNow(): void {
  for (const child of running) {
    try { if (child.pid) process.kill(-child.pid, 'SIGKILL') } catch { /* already gone */ }
  }
}

function hookExit(): void {
  if (hooked) return
  hooked = true
  process.once('exit', killAllNow)
}

export function startProcess(name: string, command: string, args: string[], logPath: string, env: NodeJS.ProcessEnv = process.env): Managed {
  hookExit()
  const log = createWriteStream(logPath, { flags: 'a' })
  log.write(`$ ${command} ${args.join(' ')}\n`)
  const child = spawn(command, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env })
  child.stdout!.pipe(log, { end: false })
  child.stderr!.pipe(log, { end: false })
  running.add(child)
  let code: number | null | undefined
  const exited = new Promise<number | null>(resolve => {
    child.on('error', err => { log.write(`spawn error: ${err.message}\n`); code = -1; running.delete(child); resolve(-1) })
    child.on('exit', (c, signal) => {
      code = c ?? (signal ? 128 : null)
      running.delete(child)
      resolve(code)
    })
    child.on('close', () => log.end())
  })
  return { name, child, logPath, exited, exitCode: () => code }
}

/** TERM the process group, KILL it after graceMs, resolve once the leader has exited. */
export async function stopProcess(p: Managed, graceMs = 10_000): Promise<void> {
  if (p.exitCode() !== undefined || !p.child.pid) return
  const pid = p.child.pid
  try { process.kill(-pid, 'SIGTERM') } catch { /* already gone */ }
  const timer = setTimeout(() => { try { process.kill(-pid, 'SIGKILL') } catch { /* gone */ } }, graceMs)
  await p.exited
  clearTimeout(timer)
  // The leader is gone; make sure nothing else in its group survived it.
  try { process.kill(-pid, 'SIGKILL') } catch { /* gone */ }
}

export function logTail(p: Managed, lines = 40): string {
  try { return readFileSync(p.logPath, 'utf8').split('\n').slice(-lines).join('\n') } catch { return '' }
}

/** `count` distinct free TCP ports on 127.0.0.1, held open together so they are distinct. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => new Promise<import('node:net').Server>((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => resolve(s))
  })))
  const ports = servers.map(s => (s.address() as import('node:net').AddressInfo).port)
  await Promise.all(servers.map(s => new Promise(r => s.close(r))))
  return ports
}
