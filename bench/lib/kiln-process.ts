// Starts `kiln up` (the built CLI) as a separate process for benchmarks, so the load generator and the
// platform do not share an event loop; deploys functions through its API.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Agent, request } from 'undici'
import { buildPackage } from '../../runtimes/builder/index.js'

export interface KilnProcess {
  url: string
  /** The admin token `kiln up` made on its first start (every /v1 call here sends it). */
  token: string
  child: ChildProcess
  dataDir: string
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<T>
  upload(source: string, runtime?: string): Promise<{ sha256: string; entrypoint: string }>
  deploy(name: string, pkg: { sha256: string; entrypoint: string }, spec?: Record<string, unknown>): Promise<void>
  waitPoolsFull(): Promise<void>
  stop(): Promise<void>
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
}

export const agent = new Agent({ connections: 2048, keepAliveTimeout: 30_000, pipelining: 1 })

export async function startKiln(args: string[] = [], nodeFlags: string[] = [], opts: { kilnYaml?: string } = {}): Promise<KilnProcess> {
  const root = findRoot()
  const dataDir = mkdtempSync(join(tmpdir(), 'kiln-bench-'))
  if (opts.kilnYaml) writeFileSync(join(dataDir, 'kiln.yaml'), opts.kilnYaml)
  const port = await freePort()
  const child = spawn(process.execPath, [...nodeFlags, join(root, 'dist', 'kiln.js'), 'up', '--port', String(port), '--data', dataDir, '--log-level', 'warn', ...args], { stdio: ['ignore', 'inherit', 'inherit'], cwd: root })
  const url = `http://127.0.0.1:${port}`
  for (let i = 0; ; i++) {
    try {
      const r = await request(`${url}/healthz`)
      await r.body.dump()
      if (r.statusCode === 200) break
    } catch { /* not yet */ }
    if (i > 400) throw new Error('kiln up did not start')
    await new Promise((r) => setTimeout(r, 25))
  }
  const token = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim()
  const auth = { authorization: `Bearer ${token}` }
  async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await request(`${url}/v1${path}`, { method: method as 'GET', dispatcher: agent, body: body === undefined ? undefined : JSON.stringify(body), headers: body === undefined ? auth : { ...auth, 'content-type': 'application/json' } })
    const text = await r.body.text()
    if (r.statusCode >= 400) throw new Error(`${method} ${path}: ${r.statusCode} ${text}`)
    return JSON.parse(text) as T
  }
  return {
    url, token, child, dataDir, api,
    async upload(source, runtime = 'node') {
      const built = await buildPackage({ source, runtime })
      const r = await request(`${url}/v1/packages`, { method: 'POST', body: built.archive, headers: { ...auth, 'content-type': 'application/gzip' }, dispatcher: agent })
      await r.body.dump()
      return { sha256: built.sha256, entrypoint: built.entrypoint }
    },
    async deploy(name, pkg, spec = {}) {
      await api('PUT', `/functions/${name}`, { metadata: { name }, spec: { runtime: 'node', ...spec, package: { sha256: pkg.sha256 }, entrypoint: pkg.entrypoint } })
    },
    async waitPoolsFull() {
      for (let i = 0; i < 400; i++) {
        const pools = await api<{ target: number; ready: number }[]>('GET', '/pools')
        if (pools.every((p) => p.ready >= p.target)) return
        await new Promise((r) => setTimeout(r, 25))
      }
    },
    async stop() {
      child.kill('SIGTERM')
      await new Promise((r) => child.once('exit', r))
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** The repo root, whether this runs from bench/ or bundled under node_modules/.cache. */
export function findRoot(): string {
  let dir = import.meta.dirname
  while (!dir.endsWith('/node_modules') && dir !== '/') dir = join(dir, '..')
  return dir === '/' ? join(import.meta.dirname, '..', '..') : join(dir, '..')
}

export async function timedGet(url: string): Promise<{ ms: number; status: number; body: string }> {
  const t0 = performance.now()
  const r = await request(url, { dispatcher: agent })
  const body = await r.body.text()
  return { ms: performance.now() - t0, status: r.statusCode, body }
}
