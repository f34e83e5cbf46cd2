// `npm run bench:overload`: one function flooded at 1000 connections while a second is called at 4, on
// one `kiln up`, both with the defaults (concurrency 100, no maximum: the autoscaler decides). In one
// run it measures, with wrk (--timeout 1 s: an answer later than that is an error, not a hidden tail):
//   victim quiet   the second function alone at c4 (its baseline)
//   flood quiet    the first alone at c1000 (its ramp happens in the warm-up before it)
//   both           the flood at c1000 and the victim at c4 at the same time
// and reports p50/p99 of each against its quiet baseline, the flood's instances and cold starts, and
// issue 15's target: the victim's p99 within 2x its quiet baseline while the other is flooded.
// Reported (bench/results/overload-<date>.json), never asserted.
//
// Flags: --seconds N (default 6), --warmup N (default 2), --flood 1000, --victim 4, --timeout 1,
// --no-pin (by default kiln and its instances run on CPU 0 and both wrk on CPU 1, as bench:router does).
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { findRoot, startKiln, timedGet, type KilnProcess } from './lib/kiln-process.js'
import { ratio } from './lib/percentiles.js'
import { pinTree } from './lib/pin.js'
import { wrk, type WrkResult } from './lib/wrk.js'

const argv = process.argv.slice(2)
const flag = (name: string) => argv.includes(name)
const value = (name: string, dflt: string) => {
  const i = argv.indexOf(name)
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : dflt
}
const SECONDS = Number(value('--seconds', '6'))
const WARMUP = Number(value('--warmup', '2'))
const FLOOD = Number(value('--flood', '1000'))
const VICTIM = Number(value('--victim', '4'))
const TIMEOUT_S = Number(value('--timeout', '1'))
const PIN = !flag('--no-pin') && cpus().length >= 2
const SERVER_CPU = PIN ? '0' : undefined
const WRK_CPU = PIN ? '1' : undefined

interface Row extends WrkResult { fn: 'flood' | 'victim'; phase: 'quiet' | 'flooded'; instances: number; coldStarts: number; scale: Record<string, unknown> | undefined }

const fmt = (n: number | undefined, d = 2) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(d))

/** Runs wrk against `fn` and watches its instances (most seen) and cold starts while it runs. */
async function measure(k: KilnProcess, reporter: string, fn: 'flood' | 'victim', connections: number, phase: Row['phase']): Promise<Row> {
  const statusOf = () => k.api<{ status: { coldStarts: number; instances: { state: string }[]; versions?: { scale?: Record<string, unknown> }[] } }>('GET', `/functions/${fn}`).then((f) => f.status)
  const live = (s: Awaited<ReturnType<typeof statusOf>>) => s.instances.filter((i) => i.state !== 'draining').length
  const before = await statusOf()
  let instances = live(before)
  // The version's scale state halfway through (its in-flight limit, cap, what limits it).
  let scale: Record<string, unknown> | undefined
  const startedAt = Date.now()
  let polling = true
  const poll = (async () => {
    while (polling) {
      await new Promise((r) => setTimeout(r, 250))
      const s = await statusOf().catch(() => undefined)
      if (s) instances = Math.max(instances, live(s))
      if (s && scale === undefined && Date.now() - startedAt >= (SECONDS * 1000) / 2) scale = s.versions?.at(-1)?.scale
    }
  })()
  const r = await wrk({ url: `${k.url}/fn/${fn}`, connections, seconds: SECONDS, reporter, cpu: WRK_CPU, timeoutS: TIMEOUT_S })
  polling = false
  await poll
  const after = await statusOf()
  return { fn, phase, ...r, instances, coldStarts: after.coldStarts - before.coldStarts, scale }
}

async function main(): Promise<void> {
  const root = findRoot()
  const reporter = join(root, 'bench', 'lib', 'wrk-report.lua')
  const started = new Date()
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, loadavgAtStart: loadavg().map((x) => Math.round(x * 100) / 100), node: process.version }
  // As in bench:router: the load monitor must not move a busy function to a new instance mid-run.
  const k = await startKiln(['--pool-size', '1', '--budget', '16'], [], { kilnYaml: 'loadLimits:\n  cpuCores: 1000\n  cpuShare: 1000\n  throttleRatio: 2\n  memoryShare: 1000\n  window: 1000000\n' })
  const rows: Row[] = []
  try {
    const pkg = await k.upload(join(root, 'bench', 'lib', 'functions', 'hello.mjs'))
    await k.deploy('flood', pkg, {})
    await k.deploy('victim', pkg, {})
    for (const fn of ['flood', 'victim']) {
      const r = await timedGet(`${k.url}/fn/${fn}`)
      if (r.status !== 200 || r.body !== 'hello') throw new Error(`${fn} answered ${r.status} ${r.body}`)
    }
    await pinTree(k.child.pid!, SERVER_CPU)
    process.stderr.write(`overload bench: ${SECONDS}s per run after ${WARMUP}s warm-up, wrk 1 thread, --timeout ${TIMEOUT_S}s, flood c${FLOOD}, victim c${VICTIM}${PIN ? ', kiln and instances on CPU 0, wrk on CPU 1' : ', unpinned'}\n`)
    const warm = (fn: string, c: number) => (WARMUP > 0 ? wrk({ url: `${k.url}/fn/${fn}`, connections: c, seconds: WARMUP, reporter, cpu: WRK_CPU, timeoutS: TIMEOUT_S }) : undefined)
    const log = (r: Row) => process.stderr.write(`  ${r.fn.padEnd(6)} ${r.phase.padEnd(7)} c=${String(r.connections).padStart(4)}  ${String(r.rps).padStart(6)} req/s  p50 ${fmt(r.p50, 3)} ms  p99 ${fmt(r.p99, 3)} ms  errors ${r.errors} (timeouts ${r.errorKinds.timeout})  instances ${r.instances}  cold starts ${r.coldStarts}  scale ${JSON.stringify(r.scale ?? {})}\n`)

    await warm('victim', VICTIM)
    rows.push(await measure(k, reporter, 'victim', VICTIM, 'quiet')); log(rows.at(-1)!)
    await warm('flood', FLOOD)
    rows.push(await measure(k, reporter, 'flood', FLOOD, 'quiet')); log(rows.at(-1)!)
    // Both at once: the flood first gets going (its own warm-up), then both are measured over the same seconds.
    await warm('flood', FLOOD)
    const [f, v] = await Promise.all([measure(k, reporter, 'flood', FLOOD, 'flooded'), measure(k, reporter, 'victim', VICTIM, 'flooded')])
    rows.push(f, v); log(f); log(v)
  } finally {
    await k.stop()
  }

  const at = (fn: Row['fn'], phase: Row['phase']) => rows.find((r) => r.fn === fn && r.phase === phase)!
  const vq = at('victim', 'quiet'), vf = at('victim', 'flooded'), fq = at('flood', 'quiet'), ff = at('flood', 'flooded')
  const cores = PIN ? 1 : cpus().length
  const targets = {
    'victim p99 flooded vs quiet': { value: ratio(vf.p99, vq.p99), target: '<= 2', met: vf.p99 <= 2 * vq.p99 },
    'victim errors while flooded (timeouts incl.)': { value: vf.errors, target: '0', met: vf.errors === 0 },
    'flood errors at c1000 (timeouts incl.)': { value: ff.errors, target: '0', met: ff.errors === 0 },
    'flood instances': { value: Math.max(fq.instances, ff.instances), target: `<= ${cores} (cores)`, met: Math.max(fq.instances, ff.instances) <= cores },
    'flood cold starts after the ramp': { value: fq.coldStarts + ff.coldStarts, target: '0', met: fq.coldStarts + ff.coldStarts === 0 },
  }
  console.log(`\noverload (${SECONDS}s runs, wrk --timeout ${TIMEOUT_S}s, ${PIN ? 'kiln and instances on CPU 0, wrk on CPU 1' : 'unpinned'}, load average at start ${machine.loadavgAtStart.join(' ')})`)
  console.log('function  phase     conns   req/s   p50 ms    p99 ms  errors  timeouts  instances  cold starts  p50 x quiet  p99 x quiet')
  for (const r of rows) {
    const q = at(r.fn, 'quiet')
    console.log(`${r.fn.padEnd(9)} ${r.phase.padEnd(8)} ${String(r.connections).padStart(6)} ${String(r.rps).padStart(7)} ${fmt(r.p50, 3).padStart(8)} ${fmt(r.p99, 3).padStart(9)} ${String(r.errors).padStart(7)} ${String(r.errorKinds.timeout).padStart(9)} ${String(r.instances).padStart(10)} ${String(r.coldStarts).padStart(12)} ${fmt(ratio(r.p50, q.p50)).padStart(12)} ${fmt(ratio(r.p99, q.p99)).padStart(12)}`)
  }
  console.log('\ntargets')
  for (const [name, t] of Object.entries(targets)) console.log(`  ${name.padEnd(46)} ${String(t.value).padStart(8)}  (${t.target})  ${t.met ? 'met' : 'MISSED'}`)
  const outDir = join(root, 'bench', 'results')
  mkdirSync(outDir, { recursive: true })
  const out = join(outDir, `overload-${started.toISOString().slice(0, 19).replace(/:/g, '-')}.json`)
  writeFileSync(out, JSON.stringify({ bench: 'overload', startedAt: started.toISOString(), seconds: SECONDS, warmupSeconds: WARMUP, wrkTimeoutSeconds: TIMEOUT_S, pinned: PIN, machine, rows, targets }, null, 2) + '\n')
  console.log(`\nwrote ${out}`)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
