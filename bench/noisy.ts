// `npm run bench:noisy`: a victim function's latency before a cpu hog arrives on its node, while they
// share the node, and after the monitor has moved the hog to the isolated node; and how long detection
// took. Nodes get one core of quota each (kiln.yaml), so a hog really hurts its neighbours.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { findRoot, startKiln, timedGet } from './lib/kiln-process.js'
import { summarize, type Summary } from './lib/percentiles.js'

const root = findRoot()
const FX = join(root, 'test', 'fixtures', 'isolation')
const KILN_YAML = `
nodes:
  - name: general
    labels: { kiln.dev/pool: general }
    cpus: 1
  - name: isolated
    labels: { kiln.dev/pool: isolated }
    taints: [{ key: kiln.dev/isolated, value: "true", effect: NoSchedule }]
    cpus: 1
`

async function victimFor(url: string, ms: number): Promise<number[]> {
  const out: number[] = []
  const end = performance.now() + ms
  while (performance.now() < end) {
    const r = await timedGet(`${url}/fn/victim`)
    if (r.status !== 200) throw new Error(`victim failed: ${r.status} ${r.body}`)
    out.push(r.ms)
  }
  return out
}

async function main(): Promise<void> {
  const k = await startKiln(['--pool-size', '2'], [], { kilnYaml: KILN_YAML })
  const warm = async () => { for (let i = 0; i < 200; i++) await timedGet(`${k.url}/fn/victim`) }
  const results: Record<string, Summary> = {}
  let stopHog = false
  const hogErrors: number[] = []
  try {
    await k.waitPoolsFull()
    await k.deploy('victim', await k.upload(join(FX, 'victim.mjs')))
    await k.deploy('hog', await k.upload(join(FX, 'hog.mjs')), { timeoutMs: 30_000 })
    await timedGet(`${k.url}/fn/victim`)
    await timedGet(`${k.url}/fn/hog?ms=1`)

    await warm()
    results.before = summarize(await victimFor(k.url, 4000))

    const hogStart = Date.now()
    const hogLoop = async () => {
      while (!stopHog) {
        const r = await timedGet(`${k.url}/fn/hog?ms=300`)
        if (r.status !== 200) hogErrors.push(r.status)
      }
    }
    const hogs = [hogLoop(), hogLoop(), hogLoop()]
    const colocated: number[] = []
    let isolatedAt = 0
    while (!isolatedAt && Date.now() - hogStart < 60_000) {
      colocated.push(...(await victimFor(k.url, 250)))
      const s = (await k.api<{ status: { isolation?: unknown } }>('GET', '/functions/hog')).status
      if (s.isolation) isolatedAt = Date.now()
    }
    results.colocated = summarize(colocated)
    // Wait until the hog's instances all live on the isolated node, then measure again with it still running.
    for (let i = 0; i < 200; i++) {
      const s = (await k.api<{ status: { instances: { node: string }[] } }>('GET', '/functions/hog')).status
      if (s.instances.length > 0 && s.instances.every((x) => x.node === 'isolated')) break
      await new Promise((r) => setTimeout(r, 50))
    }
    results.after_isolation = summarize(await victimFor(k.url, 4000))
    stopHog = true
    await Promise.all(hogs)

    const events = await k.api<{ type: string; function: string; reason: string; evidence: Record<string, unknown> }[]>('GET', '/events?type=FunctionIsolated')
    const report = {
      when: new Date().toISOString(),
      victimLatencyMs: results,
      detectionMs: isolatedAt ? isolatedAt - hogStart : null,
      hogFailedRequests: hogErrors.length,
      isolation: events.find((e) => e.function === 'hog'),
    }
    console.log('\nvictim latency (ms)      n      p50      p99')
    for (const [name, s] of Object.entries(results)) console.log(name.padEnd(20) + String(s.n).padStart(6) + s.p50.toFixed(2).padStart(9) + s.p99.toFixed(2).padStart(9))
    console.log(`detection: ${report.detectionMs} ms after the hog started (default window: 5 samples of 1 s)`)
    console.log(`hog requests failed during the move: ${hogErrors.length}`)
    console.log(`reason: ${report.isolation?.reason}`)
    const file = join(root, 'bench', 'results', `noisy-${report.when.replace(/[:.]/g, '-')}.json`)
    writeFileSync(file, JSON.stringify(report, null, 2))
    console.log(`report: ${file}`)
  } finally {
    stopHog = true
    await k.stop()
  }
}

await main()
