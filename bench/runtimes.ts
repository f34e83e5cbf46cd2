// `npm run bench:runtimes`: the runtimes side by side, in one run on one machine. Reported, never asserted.
// Per runtime (node, python when python3 >= 3.11 is there, and a Fission-protocol server,
// test/fission-env/server.mjs):
//   boot         spawn → ready (the ready line on fd 3; GET /healthz 200 for a Fission server)
//   specialize   POST /v1/specialize (Fission: /v2/specialize) on a fresh generic instance
//   first        first request to a newly deployed function through the router (embedded platform,
//                in-process): a generic instance from the pool is specialized, then answers
//   warm         a repeat request to the same function through the router
//   rss          idle resident memory of a generic instance and of a specialized one (after one request)
// p50/p90 over BENCH_SAMPLES (default and minimum 20) samples, and each as a ratio to the Node runtime.
// Prints a table and writes bench/results/runtimes-<date>.json. Run: node bench/run-ts.mjs bench/runtimes.ts
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { startPlatform } from '../platform/embedded.js'
import { loadConfig } from '../core/config.js'
import { silentLogger } from '../core/logger.js'
import { buildPackage } from '../runtimes/builder/index.js'
import { rssKiB, startInstance } from './lib/runtime-instance.js'

const N = Math.max(20, Number(process.env.BENCH_SAMPLES ?? 20))
const WARM = Math.max(N, 200)

function findRoot(): string {
  // bundled into node_modules/.cache/kiln-bench by bench/run-ts.mjs, or run from bench/
  let dir = import.meta.dirname
  while (!dir.endsWith('/node_modules') && dir !== '/') dir = join(dir, '..')
  return dir === '/' ? join(import.meta.dirname, '..') : join(dir, '..')
}
const root = findRoot()
const FIX = join(root, 'bench', 'lib', 'runtimes-fixtures')
const python = process.env.KILN_PYTHON ?? 'python3'

interface Subject {
  name: string
  protocol: 'kiln' | 'fission'
  command: string[]
  /** the function file (a folder or file for the builder) */
  source: string
  /** the specialize request for a direct (out-of-platform) instance */
  specialize: { path: string; body: unknown }
}

const subjects: Subject[] = [
  {
    name: 'node', protocol: 'kiln', command: [process.execPath, join(root, 'dist', 'runtimes', 'node.js')], source: join(FIX, 'hello.mjs'),
    specialize: { path: '/v1/specialize', body: { function: { name: 'hello', version: '1', entrypoint: 'hello.mjs' }, code: { path: FIX, sha256: 'bench-node' } } },
  },
  {
    name: 'python', protocol: 'kiln', command: [python, join(root, 'runtimes', 'python', 'server.py')], source: join(FIX, 'hello.py'),
    specialize: { path: '/v1/specialize', body: { function: { name: 'hello', version: '1', entrypoint: 'hello.py' }, code: { path: FIX, sha256: 'bench-python' } } },
  },
  {
    name: 'fission-env', protocol: 'fission', command: [process.execPath, join(root, 'test', 'fission-env', 'server.mjs')], source: join(FIX, 'hello.cjs'),
    specialize: { path: '/v2/specialize', body: { filepath: join(FIX, 'hello.cjs'), functionName: '', url: '' } },
  },
]

interface Stat { n: number; p50: number; p90: number }
const r2 = (x: number) => Math.round(x * 100) / 100

function stat(samples: number[]): Stat {
  const s = [...samples].sort((a, b) => a - b)
  const at = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]
  return { n: s.length, p50: r2(at(0.5)), p90: r2(at(0.9)) }
}

async function post(url: string, body: unknown): Promise<number> {
  const r = await request(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
  await r.body.dump()
  return r.statusCode
}

async function timed(url: string): Promise<number> {
  const t0 = performance.now()
  const r = await request(url)
  const text = await r.body.text()
  const ms = performance.now() - t0
  if (r.statusCode !== 200) throw new Error(`${url}: ${r.statusCode} ${text}`)
  return ms
}

/** Boot, specialize and memory, on instances outside the platform. */
async function direct(s: Subject): Promise<Record<string, Stat>> {
  const boot: number[] = []
  const spec: number[] = []
  const rssGeneric: number[] = []
  const rssSpecialized: number[] = []
  for (let i = 0; i < N; i++) {
    const inst = await startInstance(s.command, s.protocol)
    try {
      boot.push(inst.bootMs)
      await new Promise((r) => setTimeout(r, 100)) // idle: let boot-time work (warm-up, GC) settle
      rssGeneric.push(rssKiB(inst.pid) / 1024)
      const t0 = performance.now()
      const code = await post(`${inst.url}${s.specialize.path}`, s.specialize.body)
      spec.push(performance.now() - t0)
      if (code >= 300) throw new Error(`${s.name}: specialize answered ${code}`)
      await timed(`${inst.url}/?name=bench`)
      await new Promise((r) => setTimeout(r, 100))
      rssSpecialized.push(rssKiB(inst.pid) / 1024)
    } finally {
      await inst.stop()
    }
  }
  return { boot: stat(boot), specialize: stat(spec), rssGenericMiB: stat(rssGeneric), rssSpecializedMiB: stat(rssSpecialized) }
}

/** First and warm requests through the router of an embedded platform. */
async function throughRouter(list: Subject[]): Promise<Record<string, Record<string, Stat>>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kiln-bench-rt-'))
  const config = loadConfig({ port: 0, dataDir, poolSize: 3, cgroupRoot: `kiln-bench-${process.pid}`, logLevel: 'silent' }, {})
  const p = await startPlatform(config, { logger: silentLogger })
  const auth = { authorization: `Bearer ${readFileSync(join(dataDir, 'admin.token'), 'utf8').trim()}` }
  const api = async (method: string, path: string, body?: unknown | Buffer) => {
    const raw = Buffer.isBuffer(body)
    const r = await request(`${p.apiUrl}/v1${path}`, {
      method: method as 'GET', body: raw ? body : body === undefined ? undefined : JSON.stringify(body),
      headers: raw ? { ...auth, 'content-type': 'application/gzip' } : body === undefined ? auth : { ...auth, 'content-type': 'application/json' },
    })
    const text = await r.body.text()
    if (r.statusCode >= 300) throw new Error(`${method} ${path}: ${r.statusCode} ${text}`)
    return text ? JSON.parse(text) : undefined
  }
  const poolsFull = async () => {
    for (let i = 0; i < 2000; i++) {
      const pools = (await api('GET', '/pools')) as { ready: number; target: number }[]
      if (pools.every((x) => x.ready >= x.target)) return
      await new Promise((r) => setTimeout(r, 10))
    }
  }
  const out: Record<string, Record<string, Stat>> = {}
  try {
    const fission = list.find((s) => s.protocol === 'fission')
    if (fission) await api('POST', '/runtimes', { metadata: { name: fission.name }, spec: { protocol: 'fission', command: fission.command, poolSize: 3 } })
    for (const s of list) {
      const built = await buildPackage({ source: s.source, runtime: s.name, language: s.name === 'python' ? 'python' : 'node' })
      await api('POST', '/packages', built.archive)
      const deploy = (name: string) => api('PUT', `/functions/${name}`, { metadata: { name }, spec: { runtime: s.name, package: { sha256: built.sha256 }, entrypoint: built.entrypoint } })
      // one throwaway round so the platform's own first-use costs are not in the first sample
      await poolsFull()
      await deploy(`${s.name}-warmup`)
      await timed(`${p.url}/fn/${s.name}-warmup?name=bench`)
      await api('DELETE', `/functions/${s.name}-warmup`)
      const first: number[] = []
      for (let i = 0; i < N; i++) {
        await poolsFull()
        const name = `${s.name}-first-${i}`
        await deploy(name)
        first.push(await timed(`${p.url}/fn/${name}?name=bench`))
        await api('DELETE', `/functions/${name}`)
      }
      await deploy(`${s.name}-warm`)
      await timed(`${p.url}/fn/${s.name}-warm?name=bench`)
      const warm: number[] = []
      for (let i = 0; i < WARM; i++) warm.push(await timed(`${p.url}/fn/${s.name}-warm?name=bench`))
      await api('DELETE', `/functions/${s.name}-warm`)
      out[s.name] = { first: stat(first), warm: stat(warm) }
    }
  } finally {
    await p.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
  return out
}

async function main(): Promise<void> {
  const py = spawnSync(python, ['-c', 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)']).status === 0
  const list = subjects.filter((s) => s.name !== 'python' || py)
  if (!py) console.error(`python runtime skipped: ${python} 3.11+ not found`)
  const results: Record<string, Record<string, Stat>> = {}
  for (const s of list) results[s.name] = await direct(s)
  const routed = await throughRouter(list)
  for (const s of list) Object.assign(results[s.name], routed[s.name])

  const metrics = ['boot', 'specialize', 'first', 'warm', 'rssGenericMiB', 'rssSpecializedMiB']
  const ratios: Record<string, Record<string, { p50: number; p90: number }>> = {}
  for (const s of list) {
    ratios[s.name] = {}
    for (const m of metrics) {
      const a = results[s.name][m]
      const b = results.node[m]
      ratios[s.name][m] = { p50: r2(a.p50 / b.p50), p90: r2(a.p90 / b.p90) }
    }
  }

  const unit = (m: string) => (m.startsWith('rss') ? 'MiB' : 'ms')
  const rows = [['runtime', 'metric', 'n', 'p50', 'p90', 'p50 ÷ node', 'p90 ÷ node']]
  for (const s of list) {
    for (const m of metrics) {
      const v = results[s.name][m]
      rows.push([s.name, `${m.replace(/MiB$/, '')} (${unit(m)})`, String(v.n), String(v.p50), String(v.p90), String(ratios[s.name][m].p50), String(ratios[s.name][m].p90)])
    }
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  for (const r of rows) console.log(r.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '))

  const date = new Date().toISOString().replace(/[:.]/g, '-')
  const dir = join(root, 'bench', 'results')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `runtimes-${date}.json`)
  writeFileSync(file, JSON.stringify({
    bench: 'runtimes', date: new Date().toISOString(), samples: N, warmSamples: WARM,
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, python: py ? spawnSync(python, ['--version'], { encoding: 'utf8' }).stdout.trim() : null },
    results, ratiosToNode: ratios,
  }, null, 2) + '\n')
  console.log(`\nwritten ${file}`)
}

main().then(() => process.exit(0), (err) => {
  console.error(err)
  process.exit(1)
})
