// `npm run bench:canary`: a full progressive canary under a steady load, end to end through the router
// of a `kiln up` process. A `warm` function serves steady traffic from BENCH_CONNS closed-loop
// connections; a new version is deployed without traffic (--no-promote) and a canary moves traffic to
// it in steps of 10% every BENCH_INTERVAL until it serves all of it. Reports the failed requests (any
// answer but 200) and the cold starts the new version paid (requests that waited for its code to load,
// from the API and from /metrics), and p50/p99 before, during and after the canary, with the share the
// new version served at each step. Reported, never asserted.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { request } from 'undici'
import { agent, findRoot, startKiln, type KilnProcess } from './lib/kiln-process.js'
import { summarize, type Summary } from './lib/percentiles.js'

const CONNS = Number(process.env.BENCH_CONNS ?? 16)
const PHASE_MS = Number(process.env.BENCH_PHASE_MS ?? 10_000)
const INTERVAL_MS = Number(process.env.BENCH_INTERVAL_MS ?? 3000)
const STEP = Number(process.env.BENCH_STEP ?? 10)
const root = findRoot()
const source = join(root, 'test', 'fixtures', 'releases', 'release.mjs')

type Phase = 'warmup' | 'before' | 'during' | 'after'
interface Sample { phase: Phase; ms: number; status: number; version?: string }

async function main(): Promise<void> {
  const k = await startKiln(['--pool-size', '3', '--budget', '64'])
  try {
    await k.waitPoolsFull()
    const pkg = await k.upload(source)
    const spec = { strategy: 'warm', minWarm: 2, concurrency: 100 }
    await k.deploy('canary', pkg, { ...spec, env: { VERSION: 'stable' } })
    await k.api('PUT', `/functions/canary?promote=false`, { metadata: { name: 'canary' }, spec: { runtime: 'node', ...spec, env: { VERSION: 'next' }, package: { sha256: pkg.sha256 }, entrypoint: pkg.entrypoint } })
    // Warm the router path and the stable version's instances before measuring.
    for (let i = 0; i < 200; i++) await get(k, '/fn/canary')

    const samples: Sample[] = []
    // The same load unmeasured first: the warm set grows to it (warm keeps minWarm instances idle beside the busy ones).
    let phase: Phase = 'warmup'
    let stop = false
    const loops = Array.from({ length: CONNS }, async () => {
      while (!stop) {
        const t0 = performance.now()
        const r = await get(k, '/fn/canary').catch(() => ({ status: 0, body: '' }))
        const ms = performance.now() - t0
        let version: string | undefined
        if (r.status === 200) { try { version = (JSON.parse(r.body) as { version?: string }).version } catch { /* not JSON */ } }
        samples.push({ phase, ms, status: r.status, version })
      }
    })

    const instances: Record<string, Record<string, number>> = {}
    const snapshot = async (at: string) => {
      const f = await k.api<{ status: { versions: { version: number; instances: number }[] } }>('GET', '/functions/canary')
      instances[at] = Object.fromEntries(f.status.versions.map((v) => [`v${v.version}`, v.instances]))
    }
    await sleep(PHASE_MS)
    phase = 'before'
    await snapshot('before')
    await sleep(PHASE_MS)
    await snapshot('canary start')
    phase = 'during'
    const startedAt = performance.now()
    const started = await k.api<{ from: number; to: number; weight: number }>('POST', '/functions/canary/canary', { to: 2, step: STEP, intervalMs: INTERVAL_MS, maxErrorRate: 0.01, minRequests: 20 })
    const steps: { atMs: number; weight: number }[] = [{ atMs: Math.round(performance.now() - startedAt), weight: started.weight }]
    let state = 'running'
    while (state === 'running') {
      await sleep(250)
      const c = await k.api<{ state: string; weight: number }>('GET', '/functions/canary/canary')
      state = c.state
      if (c.weight !== steps[steps.length - 1].weight) steps.push({ atMs: Math.round(performance.now() - startedAt), weight: c.weight })
      if (performance.now() - startedAt > 30 * INTERVAL_MS * (100 / STEP)) throw new Error('the canary did not finish')
    }
    const canaryMs = Math.round(performance.now() - startedAt)
    await snapshot('canary end')
    phase = 'after'
    await sleep(PHASE_MS)
    await snapshot('end')
    stop = true
    await Promise.all(loops)

    const fn = await k.api<{ status: { versions: { version: number; coldStarts: number; requests: number; specializations: number; instances: number }[] } }>('GET', '/functions/canary')
    const v2 = fn.status.versions.find((v) => v.version === 2)
    const v1 = fn.status.versions.find((v) => v.version === 1)
    const metrics = await (await request(`${k.url}/metrics`, { dispatcher: agent })).body.text()
    const coldFromMetrics = metrics.split('\n')
      .filter((l) => l.startsWith('kiln_function_cold_starts_total{') && l.includes('function="canary"') && l.includes('version="2"'))
      .reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0)

    const by = (p: Phase) => samples.filter((s) => s.phase === p)
    const failed = (p: Phase) => by(p).filter((s) => s.status !== 200).length
    const latency: Record<Exclude<Phase, 'warmup'>, Summary> = { before: summarize(by('before').map((s) => s.ms)), during: summarize(by('during').map((s) => s.ms)), after: summarize(by('after').map((s) => s.ms)) }
    const report = {
      when: new Date().toISOString(),
      machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
      load: { connections: CONNS, phaseMs: PHASE_MS, step: STEP, intervalMs: INTERVAL_MS },
      canary: { state, durationMs: canaryMs, steps },
      instances,
      requests: { before: by('before').length, during: by('during').length, after: by('after').length },
      failedRequests: { before: failed('before'), during: failed('during'), after: failed('after') },
      newVersion: {
        coldStartsFromApi: v2?.coldStarts, coldStartsFromMetrics: coldFromMetrics, specializations: v2?.specializations, instancesAfter: v2?.instances,
        servedDuring: by('during').filter((s) => s.version === 'next').length, servedAfter: by('after').filter((s) => s.version === 'next').length,
      },
      oldVersion: { specializations: v1?.specializations, instancesAfter: v1?.instances ?? 0 },
      latencyMs: latency,
      p99Ratios: { 'during/before': round(latency.during.p99 / latency.before.p99), 'after/before': round(latency.after.p99 / latency.before.p99) },
    }
    console.log(`\ncanary under ${CONNS} connections: ${state} in ${(canaryMs / 1000).toFixed(1)} s (${steps.map((s) => `${s.weight}%`).join(' → ')})`)
    console.log(`instances: ${Object.entries(instances).map(([at, v]) => `${at} ${JSON.stringify(v)}`).join(', ')}`)
    console.log(`failed requests: before ${report.failedRequests.before}, during ${report.failedRequests.during}, after ${report.failedRequests.after}`)
    console.log(`cold starts on the new version: ${report.newVersion.coldStartsFromApi} (API), ${coldFromMetrics} (/metrics); its specializations ${v2?.specializations} (the old version's ${v1?.specializations ?? '-'}), instances after ${v2?.instances}`)
    console.log('phase'.padEnd(8) + 'n'.padStart(8) + 'p50'.padStart(10) + 'p90'.padStart(10) + 'p99'.padStart(10) + 'max'.padStart(10))
    for (const p of ['before', 'during', 'after'] as const) {
      const s = latency[p]
      console.log(p.padEnd(8) + String(s.n).padStart(8) + s.p50.toFixed(2).padStart(10) + s.p90.toFixed(2).padStart(10) + s.p99.toFixed(2).padStart(10) + s.max.toFixed(2).padStart(10))
    }
    console.log(`p99 during/before ${report.p99Ratios['during/before']}x, after/before ${report.p99Ratios['after/before']}x`)
    const file = join(root, 'bench', 'results', `canary-${report.when.replace(/[:.]/g, '-')}.json`)
    writeFileSync(file, JSON.stringify(report, null, 2))
    console.log(`report: ${file}`)
  } finally {
    await k.stop()
  }
}

async function get(k: KilnProcess, path: string): Promise<{ status: number; body: string }> {
  const r = await request(`${k.url}${path}`, { dispatcher: agent })
  return { status: r.statusCode, body: await r.body.text() }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

function round(x: number): number {
  return Math.round(x * 100) / 100
}

await main()
