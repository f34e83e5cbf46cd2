// Shared by the cgroup integration tests: a driver under a unique root, children spawned through
// wrap(), polling on counters (never on wall-clock timing), and cleanup that leaves nothing behind.

import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { detectCgroups, type CgroupDriver, type CgroupGroup } from '../../../cluster/local/cgroups/index.js'

export interface TestDriver {
  driver: CgroupDriver
  rootName: string
  warnings: Array<{ obj: object; msg: string }>
  /** Why the real-cgroup tests are skipped here, or undefined when they run. */
  skip?: string
}

export async function openTestDriver(suffix: string): Promise<TestDriver> {
  const rootName = `kiln-test-${process.pid}-${suffix}`
  const warnings: TestDriver['warnings'] = []
  const driver = await detectCgroups({ rootName, logger: { warn: (obj, msg) => warnings.push({ obj, msg }), info() {} } })
  let skip: string | undefined
  if (driver.mode === 'none') {
    skip = `no writable cgroups on this host (${driver.reason}); run as root or under a delegated systemd unit (docs/cgroups.md)`
  }
  return { driver, rootName, warnings, skip }
}

const children = new Set<ChildProcess>()

/** Spawn argv through the enter-then-exec wrapper; the child is killed in cleanup if still running. */
export function spawnIn(driver: CgroupDriver, group: CgroupGroup | null, argv: string[], opts: { detached?: boolean } = {}): ChildProcess {
  const w = driver.wrap(group, argv)
  const child = spawn(w.command, w.args, { stdio: ['ignore', 'pipe', 'pipe'], detached: opts.detached })
  children.add(child)
  if (opts.detached) groups.add(child)
  child.on('exit', () => children.delete(child))
  return child
}

/** Children started as the leaders of their own process group: their whole group goes with them. */
const groups = new WeakSet<ChildProcess>()

export function killChildren(): void {
  for (const c of children) {
    if (groups.has(c) && c.pid !== undefined) {
      try { process.kill(-c.pid, 'SIGKILL'); continue } catch { /* the group is gone: the child alone */ }
    }
    c.kill('SIGKILL')
  }
  children.clear()
}

export function output(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (b) => (stdout += b))
  child.stderr?.on('data', (b) => (stderr += b))
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })))
}

export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode })
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
}

/** Running (a zombie waiting for its parent to reap it counts as dead). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

/** Poll `probe` until it returns a value that is not undefined; the deadline only bounds a hang. */
export async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, deadlineMs = 30_000): Promise<T> {
  const end = Date.now() + deadlineMs
  for (;;) {
    const v = await probe()
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}
