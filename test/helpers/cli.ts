// Runs the real `kiln` CLI (the built bundle) and a real `kiln up` process for end-to-end tests.
import { spawn, type ChildProcess } from 'node:child_process'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { request } from 'undici'

const require = createRequire(import.meta.url)
export const ROOT = join(import.meta.dirname, '..', '..')
export const KILN = join(ROOT, 'dist', 'kiln.js')

export interface CliResult { code: number; stdout: string; stderr: string }

export function kiln(args: string[], env: Record<string, string> = {}, input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [KILN, ...args], { env: { ...process.env, ...env }, cwd: ROOT })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }))
    child.stdin.end(input)
  })
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.on('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
}

export interface UpProcess { url: string; child: ChildProcess; output: () => string; stop(signal?: NodeJS.Signals): Promise<number | null> }

/** `prefix`: a command that runs kiln up (e.g. setpriv to run it as another user). */
export async function kilnUp(dataDir: string, extra: string[] = [], prefix: string[] = []): Promise<UpProcess> {
  const port = await freePort()
  const argv = [...prefix, process.execPath, KILN, 'up', '--port', String(port), '--data', dataDir, '--pool-size', '2', '--log-level', 'warn', ...extra]
  const child = spawn(argv[0], argv.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 20_000
  for (;;) {
    try {
      const res = await request(`${url}/healthz`)
      await res.body.dump()
      if (res.statusCode === 200) break
    } catch { /* not yet */ }
    if (child.exitCode !== null) throw new Error(`kiln up exited early: ${out}`)
    if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error(`kiln up did not start: ${out}`) }
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    url,
    child,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal)
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000)
      const code = await exited
      clearTimeout(t)
      return code
    },
  }
}

export async function get(url: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}) {
  const res = await request(url, { method: (init.method ?? 'GET') as 'GET', body: init.body, headers: init.headers })
  const text = await res.body.text()
  return { status: res.statusCode, headers: res.headers, text }
}

/** Pids of live (non-zombie) processes whose parent is `ppid`. */
export async function childrenOf(ppid: number): Promise<number[]> {
  const { readdir, readFile } = await import('node:fs/promises')
  const out: number[] = []
  for (const d of await readdir('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const stat = await readFile(`/proc/${d}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (fields[0] !== 'Z' && Number(fields[1]) === ppid) out.push(Number(d))
    } catch { /* gone */ }
  }
  return out
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    const stat = require('node:fs').readFileSync(`/proc/${pid}/stat`, 'utf8') as string
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}

/** Pids of live processes whose command line contains `needle` (to prove nothing is left behind). */
export async function processesMatching(needle: string): Promise<number[]> {
  const { readdir, readFile } = await import('node:fs/promises')
  const out: number[] = []
  for (const d of await readdir('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const cmd = (await readFile(`/proc/${d}/cmdline`, 'utf8')).replaceAll('\0', ' ')
      const stat = await readFile(`/proc/${d}/stat`, 'utf8')
      if (cmd.includes(needle) && !/\) Z /.test(stat)) out.push(Number(d))
    } catch { /* gone */ }
  }
  return out
}
