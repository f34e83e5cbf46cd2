// `npm run bench:coldstart`: what a first request costs under each way an instance becomes ready, in one
// run on one machine, end to end through the router of a `kiln up` process:
//   (a) no pool: a new runtime process is booted for the request
//   (b) pool: a generic instance from the warm pool is specialized on the request
//   (c) warm: the first request to a function whose code was installed ahead of time, right after the
//       deploy returns (while the pool refills) and once the platform has settled (refill done), and
//       the same for a function deployed with warm-up requests (--warmup)
//   (d) a warm repeat request, back to back, and (d′) the same after a pause like the one before a first request
// plus a burst of 200 concurrent first requests spread over 50 functions. Reported, never asserted.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { findRoot, startKiln, timedGet, type KilnProcess } from './lib/kiln-process.js'
import { ratio, summarize, type Summary } from './lib/percentiles.js'

const N = Number(process.env.BENCH_SAMPLES ?? 30)
const root = findRoot()
const source = join(root, 'examples', 'hello', 'index.js')

async function firstRequests(k: KilnProcess, prefix: string, n: number, spec: Record<string, unknown>, before?: () => Promise<void>, afterDeploy?: () => Promise<void>): Promise<number[]> {
  const pkg = await k.upload(source)
  const out: number[] = []
  for (let i = 0; i < n; i++) {
    const name = `${prefix}-${i}`
    await before?.()
    await k.deploy(name, pkg, spec)
    await afterDeploy?.()
    const r = await timedGet(`${k.url}/fn/${name}?name=bench`)
    if (r.status !== 200) throw new Error(`${name}: ${r.status} ${r.body}`)
    out.push(r.ms)
    await k.api('DELETE', `/functions/${name}`)
  }
  return out
}

async function main(): Promise<void> {
  const k = await startKiln(['--pool-size', '3', '--budget', '400'])
  const results: Record<string, Summary> = {}
  try {
    // Warm up the router and builder paths once so the first sample is not the process's own JIT warm-up.
    await firstRequests(k, 'warmup', 3, {}, () => k.waitPoolsFull())

    await k.api('PUT', '/pools/node', { size: 0 })
    results.a_no_pool = summarize(await firstRequests(k, 'nopool', Math.max(10, Math.floor(N / 2)), {}))

    await k.api('PUT', '/pools/node', { size: 3 })
    results.b_pool = summarize(await firstRequests(k, 'pool', N, {}, () => k.waitPoolsFull()))

    results.c_warm_first = summarize(await firstRequests(k, 'warm', N, { strategy: 'warm', minWarm: 1 }, () => k.waitPoolsFull()))
    results.c_warm_first_settled = summarize(await firstRequests(k, 'warms', N, { strategy: 'warm', minWarm: 1 }, () => k.waitPoolsFull(), () => k.waitPoolsFull()))
    results.c_warm_first_warmup = summarize(await firstRequests(k, 'warmw', N, { strategy: 'warm', minWarm: 1, warmup: { path: '/?name=warmup' } }, () => k.waitPoolsFull(), () => k.waitPoolsFull()))

    const pkg = await k.upload(source)
    await k.deploy('repeat', pkg, {})
    await timedGet(`${k.url}/fn/repeat`)
    const warm: number[] = []
    for (let i = 0; i < Math.max(200, N * 5); i++) warm.push((await timedGet(`${k.url}/fn/repeat?name=bench`)).ms)
    results.d_warm_repeat = summarize(warm)
    // The same repeat after the pause a first request has behind it (deploy, waits): idle cpus and cold
    // caches cost something on every request that follows a pause, first or not.
    const paused: number[] = []
    for (let i = 0; i < N; i++) {
      await k.waitPoolsFull()
      await new Promise((r) => setTimeout(r, 50))
      paused.push((await timedGet(`${k.url}/fn/repeat?name=bench`)).ms)
    }
    results.d_warm_repeat_after_pause = summarize(paused)

    // Burst: 200 concurrent first requests over 50 functions (4 each).
    await k.api('PUT', '/pools/node', { size: 8 })
    await k.waitPoolsFull()
    for (let i = 0; i < 50; i++) await k.deploy(`burst-${i}`, pkg, {})
    const burst = await Promise.all(Array.from({ length: 200 }, (_, i) => timedGet(`${k.url}/fn/burst-${i % 50}?name=b`).catch(() => ({ ms: NaN, status: 0, body: '' }))))
    const errors = burst.filter((r) => r.status !== 200).length
    results.burst_200_over_50 = summarize(burst.filter((r) => r.status === 200).map((r) => r.ms))

    const k6 = runK6(k.url, k.token, pkg)

    const report = {
      k6,
      when: new Date().toISOString(),
      machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
      samples: N,
      results,
      burstErrors: errors,
      ratios: {
        'b/d (pool cold vs warm repeat, p50)': ratio(results.b_pool.p50, results.d_warm_repeat.p50),
        'c/d (warm first vs warm repeat, p50)': ratio(results.c_warm_first.p50, results.d_warm_repeat.p50),
        'c/d settled (p50)': ratio(results.c_warm_first_settled.p50, results.d_warm_repeat.p50),
        'c/d settled, with warm-up requests (p50)': ratio(results.c_warm_first_warmup.p50, results.d_warm_repeat.p50),
        'c/d′ settled vs a repeat after a pause (p50)': ratio(results.c_warm_first_settled.p50, results.d_warm_repeat_after_pause.p50),
        'c/d′ with warm-up requests vs a repeat after a pause (p50)': ratio(results.c_warm_first_warmup.p50, results.d_warm_repeat_after_pause.p50),
        'a/b (no pool vs pool, p50)': ratio(results.a_no_pool.p50, results.b_pool.p50),
      },
    }
    console.log('\ncold start through the router (ms)')
    console.log('scenario'.padEnd(22) + 'n'.padStart(5) + 'p50'.padStart(10) + 'p90'.padStart(10) + 'p99'.padStart(10))
    for (const [k2, s] of Object.entries(results)) console.log(k2.padEnd(22) + String(s.n).padStart(5) + s.p50.toFixed(2).padStart(10) + s.p90.toFixed(2).padStart(10) + s.p99.toFixed(2).padStart(10))
    console.log(`burst errors: ${errors}`)
    for (const [k2, v] of Object.entries(report.ratios)) console.log(`${k2}: ${v}x`)
    if (k6) {
      console.log('\nthe same scenarios measured by k6 (ms)')
      for (const [name, s] of Object.entries(k6)) console.log(name.padEnd(28) + String(s.p50).padStart(10) + String(s.p90).padStart(10) + String(s.p99).padStart(10))
    } else {
      console.log('\nk6 not found (go install go.k6.io/k6@latest puts it in ~/go/bin): skipped bench/k6/coldstart.js')
    }
    const file = join(root, 'bench', 'results', `coldstart-${report.when.replace(/[:.]/g, '-')}.json`)
    writeFileSync(file, JSON.stringify(report, null, 2))
    console.log(`report: ${file}`)
  } finally {
    await k.stop()
  }
}

/** Runs bench/k6/coldstart.js when k6 is installed; returns p50/p90/p99 per scenario. */
function runK6(url: string, token: string, pkg: { sha256: string; entrypoint: string }): Record<string, { p50: number; p90: number; p99: number }> | undefined {
  const candidates = [process.env.K6, 'k6', join(homedir(), 'go', 'bin', 'k6')].filter(Boolean) as string[]
  const bin = candidates.find((c) => spawnSync(c, ['version'], { stdio: 'ignore' }).status === 0)
  if (!bin || !existsSync(join(root, 'bench', 'k6', 'coldstart.js'))) return undefined
  const summary = join(tmpdir(), `kiln-k6-${process.pid}.json`)
  const r = spawnSync(bin, ['run', '--quiet', '--summary-trend-stats', 'p(50),p(90),p(99)', '--summary-export', summary,
    '-e', `KILN_URL=${url}`, '-e', `KILN_TOKEN=${token}`, '-e', `SHA256=${pkg.sha256}`, '-e', `ENTRYPOINT=${pkg.entrypoint}`, '-e', `SAMPLES=${Math.min(N, 20)}`,
    join(root, 'bench', 'k6', 'coldstart.js')], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 600_000 })
  if (r.status !== 0 || !existsSync(summary)) return undefined
  const metrics = (JSON.parse(readFileSync(summary, 'utf8')) as { metrics: Record<string, Record<string, number>> }).metrics
  const out: Record<string, { p50: number; p90: number; p99: number }> = {}
  for (const [name, m] of Object.entries(metrics)) {
    if (!name.startsWith('kiln_') || m['p(50)'] === undefined) continue
    out[name] = { p50: round(m['p(50)']), p90: round(m['p(90)']), p99: round(m['p(99)']) }
  }
  return out
}

function round(x: number): number {
  return Math.round(x * 100) / 100
}

await main()
