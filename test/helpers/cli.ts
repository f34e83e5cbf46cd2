// Runs the real `kiln` CLI (the built bundle) and a real `kiln up` process for end-to-end tests.
// Credentials in one place: a `kiln up` started here is remembered with its data dir, and the CLI run
// against it finds the admin token there as on an operator's machine (KILN_DATA; the loopback
// fallback), while `get` sends that token with `/v1` requests. The CLI never sees the developer's own
// ~/.config/kiln or KILN_TOKEN (each run gets an empty config home unless a test gives one).
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { request } from 'undici'

const require = createRequire(import.meta.url)
export const ROOT = join(import.meta.dirname, '..', '..')
export const KILN = join(ROOT, 'dist', 'kiln.js')

export interface CliResult { code: number; stdout: string; stderr: string }

/** Data dirs of the `kiln up`s started here, by URL (its admin.token is there). */
const dataDirs = new Map<string, string>()
const emptyConfigHome = mkdtempSync(join(tmpdir(), 'kiln-cli-config-'))

/** Lets the CLI find the admin token of a platform started in-process (test/helpers/platform.ts). */
export function rememberDataDir(url: string, dataDir: string): void {
  dataDirs.set(new URL(url).origin, dataDir)
}

/** The admin token of a `kiln up` started by kilnUp, by its URL (or any URL under it). */
export function adminTokenOf(url: string): string | undefined {
  const origin = new URL(url).origin
  const dir = dataDirs.get(origin)
  return dir === undefined ? undefined : readFileSync(join(dir, 'admin.token'), 'utf8').trim()
}

/** The environment a CLI run gets: an empty config home, and the data dir (admin token) of the server it talks to. */
export function cliEnv(args: string[], env: Record<string, string>): NodeJS.ProcessEnv {
  const { KILN_TOKEN: _t, KILN_NAMESPACE: _n, KILN_DATA: _d, ...inherited } = process.env
  const i = args.findIndex((a) => a === '--server' || a === '-s')
  const server = i >= 0 ? args[i + 1] : env.KILN_URL
  const dir = server ? dataDirs.get(new URL(server).origin) : undefined
  return { ...inherited, XDG_CONFIG_HOME: emptyConfigHome, ...(dir ? { KILN_DATA: dir } : {}), ...env }
}

export function kiln(args: string[], env: Record<string, string> = {}, input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [KILN, ...args], { env: cliEnv(args, env), cwd: ROOT })
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
  dataDirs.set(url, dataDir)
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
  const token = new URL(url).pathname.startsWith('/v1/') ? adminTokenOf(url) : undefined
  const headers = token && !Object.keys(init.headers ?? {}).some((h) => h.toLowerCase() === 'authorization') ? { authorization: `Bearer ${token}`, ...init.headers } : init.headers
  const res = await request(url, { method: (init.method ?? 'GET') as 'GET', body: init.body, headers })
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

/** Pids of every live (non-zombie) descendant of `root`: children, their children, and so on. */
export async function descendantsOf(root: number): Promise<number[]> {
  const { readdir, readFile } = await import('node:fs/promises')
  const children = new Map<number, number[]>()
  for (const d of await readdir('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const stat = await readFile(`/proc/${d}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (fields[0] === 'Z') continue
      const ppid = Number(fields[1])
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)])
    } catch { /* gone */ }
  }
  const out: number[] = []
  const todo = [root]
  while (todo.length > 0) {
    for (const c of children.get(todo.pop()!) ?? []) {
      out.push(c)
      todo.push(c)
    }
  }
  return out
}

/** The command line of a process ('' once it is gone). */
export function cmdline(pid: number): string {
  try {
    return (require('node:fs').readFileSync(`/proc/${pid}/cmdline`, 'utf8') as string).replaceAll('\0', ' ').trim()
  } catch {
    return ''
  }
}

/**
 * One request over a raw TCP connection, written exactly as given (so a body may be shorter than its
 * content-length, which no HTTP client will send); resolves with the status and body of the answer.
 */
export function rawRequest(url: string, head: string, body = ''): Promise<{ status: number; headers: string; body: string }> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const sock = require('node:net').connect(Number(port), hostname) as import('node:net').Socket
    let buf = Buffer.alloc(0)
    const done = (err?: Error) => {
      sock.destroy()
      const text = buf.toString('latin1')
      const end = text.indexOf('\r\n\r\n')
      if (end < 0) return reject(err ?? new Error(`no complete answer: ${JSON.stringify(text.slice(0, 200))}`))
      const headers = text.slice(0, end)
      const len = Number(/\r\ncontent-length: *(\d+)/i.exec(headers)?.[1] ?? NaN)
      const rest = buf.subarray(end + 4)
      resolve({ status: Number(headers.split(' ')[1]), headers, body: (Number.isNaN(len) ? rest : rest.subarray(0, len)).toString('utf8') })
    }
    sock.setTimeout(30_000, () => done(new Error('no answer within 30 s')))
    sock.on('connect', () => sock.write(head + body))
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d])
      const text = buf.toString('latin1')
      const end = text.indexOf('\r\n\r\n')
      if (end < 0) return
      const len = Number(/\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end))?.[1] ?? NaN)
      if (!Number.isNaN(len) && buf.length >= end + 4 + len) done()
    })
    sock.on('error', (e: Error) => done(e))
    sock.on('close', () => done())
  })
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

/**
 * The cgroup directories a `kiln up` on `dataDir` made (its root, kiln-<hash of the data dir>, in each
 * hierarchy) that still exist: none once it has stopped cleanly, none at all where cgroups are not mounted.
 */
export function cgroupRootsOf(dataDir: string): string[] {
  const rootName = `kiln-${createHash('sha256').update(resolve(dataDir)).digest('hex').slice(0, 8)}`
  if (!existsSync('/sys/fs/cgroup')) return []
  const hierarchies = ['/sys/fs/cgroup', ...readdirSync('/sys/fs/cgroup').map((h) => join('/sys/fs/cgroup', h))]
  return hierarchies.map((h) => join(h, rootName)).filter((d) => existsSync(d))
}
