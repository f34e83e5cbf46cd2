// `npm run bench:routers`: one router process against N (`kiln up --router-processes N`: the primary
// accepts the connections and hands each to one of N router worker processes, docs/router.md), and the
// core count from which N processes serve more than one (issue 15: "the bench shows the crossover").
// For each N (--processes 1,2) a `kiln up` with bench:router's hello function (concurrency 10000,
// maxScale 1: one instance takes every request), all started first and measured in turns, with wrk
// (1 thread, --timeout 1s: an answer later than that counts as an error) in two placements:
//   pinned     every server (primary, router workers, spawner, instance) on CPU 0, wrk on CPU 1 (as bench:router)
//   two-cores  the servers over CPUs 0 and 1, wrk on CPU 1 too: wrk shares a core with them
// at 32 and 256 connections: requests/s, p50, p99, errors, and the CPU each part spends per request: the
// primary (the `kiln up` process alone), the workers (the router-worker children together), the instance
// (its process and descendants), and the rest of kiln's tree (the spawner). With N > 1, /healthz's
// routers.served says how the run's requests spread over the workers.
//
// The crossover is a model, from the CPU per request measured in this run: on C cores one process
// serves at most min(1e6/router, C·1e6/(router + instance)) req/s, N processes at most
// min(1e6/primary, N·1e6/worker, C·1e6/(primary + worker + instance)) with the best N ≤ C (bench/lib/
// crossover.ts). Printed for C = 1..8 from each placement's figures (they differ: on one core every hop
// between the processes is a context switch), beside the measured ratio of N processes to one in that
// placement (pinned: one core; two-cores: two). Reported (bench/results/routers-<date>.json), never asserted.
//
// Flags: --processes 1,2  --conns 32,256  --placements pinned,two-cores  --seconds N (default 5)
// --warmup N (before each run, default 1)  --first-warmup N (after the deploy, default 5: fresh router
// processes start slow)  --timeout N (wrk's, default 1).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { childrenOf, cpuUs } from './lib/cpu-time.js'
import { crossover, nProcesses, oneProcess, type CrossoverRow, type MultiCost, type OneCost } from './lib/crossover.js'
import { findRoot, startKiln, timedGet, type KilnProcess } from './lib/kiln-process.js'
import { ratio } from './lib/percentiles.js'
import { pin, pinTree } from './lib/pin.js'
import { run, wrk, type WrkResult } from './lib/wrk.js'

const argv = process.argv.slice(2)
const value = (name: string, dflt: string) => {
  const i = argv.indexOf(name)
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : dflt
}
const list = (name: string, dflt: string) => value(name, dflt).split(',').filter(Boolean)
const PROCESSES = list('--processes', '1,2').map(Number)
const CONNS = list('--conns', '32,256').map(Number)
const SECONDS = Number(value('--seconds', '5'))
const WARMUP = Number(value('--warmup', '1'))
const FIRST_WARMUP = Number(value('--first-warmup', '5'))
const TIMEOUT_S = Number(value('--timeout', '1'))
const MAX_CORES = 8
const WRK_CPU = '1'

type Placement = 'pinned' | 'two-cores'
const PLACEMENTS = list('--placements', 'pinned,two-cores') as Placement[]
const SERVER_CPUS: Record<Placement, string> = { pinned: '0', 'two-cores': '0,1' }
const CORES: Record<Placement, number> = { pinned: 1, 'two-cores': 2 }

/** CPU microseconds per request, by part of kiln's process tree. */
interface Parts { primary: number; workers: number; instance: number; other: number; total: number }

interface Row extends WrkResult {
  processes: number
  placement: Placement
  /** The 1-minute load average just before the run (the machine is shared). */
  loadavg1: number
  cpuUsPerRequest: Parts
  /** N > 1: requests each worker served during the run (/healthz routers.served), and max/min of them. */
  served?: number[]
  servedSpread?: number
  workersAlive?: number
  /** Router processes that died and were started again during the run. */
  workerRestarts?: number
  /** The instance that served the run changed under it (its CPU then is not all counted). */
  instanceChanged?: boolean
}

interface Model {
  conns: number; processes: number
  /** Whose CPU per request the model takes: the runs in this placement. */
  placement: Placement
  one: OneCost
  multi: MultiCost
  table: CrossoverRow[]
  /** The fewest cores on which N processes serve more than one, in the model (undefined: not up to MAX_CORES). */
  crossoverCores: number | undefined
  /** What the one instance of this bench (maxScale 1) could serve alone: the model assumes instances scale out. */
  instanceCapRps: number
  /** Measured in this placement: N processes / one, beside the model's figure for the same N on its cores. */
  measured: { cores: number; ratio: number; model: number }
}

interface Health { routers?: { processes: number; alive: number; served: number[]; restarts?: number } }

const fmt = (n: number | undefined, digits = 2) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits))
const round1 = (x: number) => Math.round(x * 10) / 10

function cmdlineOf(pid: number): string {
  try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim() } catch { return '' }
}

/** `kiln up`'s router worker processes: its direct children running dist/router-worker.js. */
function routerWorkers(primary: number): number[] {
  return childrenOf(primary).filter((pid) => cmdlineOf(pid).includes('router-worker'))
}

/** Every descendant of `pid` with its command line (to find what a stop left behind). */
function descendants(pid: number): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = []
  const todo = [pid]
  while (todo.length > 0 && out.length < 500) {
    for (const c of childrenOf(todo.pop()!)) {
      out.push({ pid: c, cmd: cmdlineOf(c) })
      todo.push(c)
    }
  }
  return out
}

/** CPU microseconds so far, by part. The instance is a descendant of the primary (via the spawner). */
function cpuParts(primary: number, workers: number[], instance: number): Omit<Parts, 'total'> {
  const p = cpuUs(primary)
  const w = workers.reduce((s, pid) => s + cpuUs(pid, true), 0)
  const i = cpuUs(instance, true)
  return { primary: p, workers: w, instance: i, other: cpuUs(primary, true) - p - w - i }
}

async function health(k: KilnProcess): Promise<Health> {
  const r = await timedGet(`${k.url}/healthz`)
  if (r.status !== 200) throw new Error(`/healthz answered ${r.status} ${r.body}`)
  return JSON.parse(r.body) as Health
}

/** With N > 1, until /healthz counts N live router workers (they fork after the listener is up). */
async function waitRouters(k: KilnProcess, n: number): Promise<void> {
  if (n <= 1) return
  const deadline = Date.now() + 30_000
  for (;;) {
    const h = await health(k)
    if (h.routers && h.routers.alive === n) return
    if (Date.now() > deadline) throw new Error(`kiln up --router-processes ${n}: /healthz shows ${h.routers ? `${h.routers.alive} live router processes` : 'no routers'} after 30 s`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

function model(one: Row, multi: Row): Model {
  const o = { routerUs: one.cpuUsPerRequest.primary, instanceUs: one.cpuUsPerRequest.instance }
  const m = { primaryUs: multi.cpuUsPerRequest.primary, workerUs: multi.cpuUsPerRequest.workers, instanceUs: multi.cpuUsPerRequest.instance }
  const { table, cores } = crossover(o, m, MAX_CORES)
  const c = CORES[one.placement]
  const measured = { cores: c, ratio: ratio(multi.rps, one.rps), model: ratio(nProcesses(multi.processes, c, m).rps, oneProcess(c, o).rps) }
  return { conns: one.connections, processes: multi.processes, placement: one.placement, one: o, multi: m, table, crossoverCores: cores, instanceCapRps: Math.round(1e6 / m.instanceUs), measured }
}

interface Server {
  n: number
  k: KilnProcess
  /** The `kiln up` process: with N > 1 the primary, else the one router. */
  primary: number
  url: string
  instanceOf(): Promise<{ id: string; pid: number }>
}

/** One run: the server's tree placed, a warm-up, then wrk with the CPU of each part and the workers' counts around it. */
async function measure(s: Server, placement: Placement, c: number, reporter: string): Promise<Row> {
  // The whole tree: primary, workers, spawner and the instance (later instances inherit it).
  await pinTree(s.primary, SERVER_CPUS[placement])
  await pin((await s.instanceOf()).pid, SERVER_CPUS[placement])
  const opts = { url: s.url, connections: c, reporter, cpu: WRK_CPU, timeoutS: TIMEOUT_S }
  if (WARMUP > 0) await wrk({ ...opts, seconds: WARMUP })
  const inst = await s.instanceOf()
  const workers = routerWorkers(s.primary)
  const h0 = await health(s.k)
  const loadavg1 = Math.round(loadavg()[0] * 100) / 100
  const cpu0 = cpuParts(s.primary, workers, inst.pid)
  const r = await wrk({ ...opts, seconds: SECONDS })
  const cpu1 = cpuParts(s.primary, workers, inst.pid)
  const h1 = await health(s.k)
  const instanceChanged = (await s.instanceOf()).id !== inst.id
  const per = (key: keyof typeof cpu0) => (r.requests > 0 ? round1((cpu1[key] - cpu0[key]) / r.requests) : NaN)
  const parts = { primary: per('primary'), workers: per('workers'), instance: per('instance'), other: per('other') }
  const row: Row = { processes: s.n, placement, loadavg1, ...r, cpuUsPerRequest: { ...parts, total: round1(parts.primary + parts.workers + parts.instance + parts.other) } }
  if (instanceChanged) row.instanceChanged = true
  if (h0.routers && h1.routers) {
    row.served = h1.routers.served.map((n, i) => n - (h0.routers!.served[i] ?? 0))
    const least = Math.min(...row.served)
    if (least > 0) row.servedSpread = ratio(Math.max(...row.served), least)
    row.workersAlive = h1.routers.alive
    if (h1.routers.restarts !== undefined) row.workerRestarts = h1.routers.restarts - (h0.routers.restarts ?? 0)
  }
  const served = row.served ? `  served ${row.served.join('/')} (max/min ${fmt(row.servedSpread)}, ${row.workersAlive} alive${row.workerRestarts ? `, ${row.workerRestarts} RESTARTED` : ''})` : ''
  process.stderr.write(`  N=${s.n} ${placement.padEnd(9)} c=${String(c).padStart(4)}  ${String(r.rps).padStart(7)} req/s  p50 ${fmt(r.p50, 3)} ms  p99 ${fmt(r.p99, 3)} ms  errors ${r.errors} (timeouts ${r.errorKinds.timeout})  cpu µs/req primary ${fmt(parts.primary, 1)} workers ${fmt(parts.workers, 1)} instance ${fmt(parts.instance, 1)} other ${fmt(parts.other, 1)}${served}  load ${loadavg1}\n`)
  if (instanceChanged) process.stderr.write(`warning: the instance changed during the run (${inst.id}): its CPU is not all counted\n`)
  return row
}

async function main(): Promise<void> {
  if (cpus().length < 2) throw new Error('bench:routers needs 2 CPUs (servers on CPU 0 or 0-1, wrk on CPU 1)')
  const root = findRoot()
  const reporter = join(root, 'bench', 'lib', 'wrk-report.lua')
  const started = new Date()
  const wrkVersion = await run('wrk', ['-v']).then((r) => (r.stdout + r.stderr).split('\n')[0]?.trim(), () => 'missing')
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, loadavgAtStart: loadavg().map((x) => Math.round(x * 100) / 100), node: process.version, wrk: wrkVersion }
  // As bench:router: the load monitor must not move the busy function to a new instance mid-run.
  const kilnYaml = 'loadLimits:\n  cpuCores: 1000\n  cpuShare: 1000\n  throttleRatio: 2\n  memoryShare: 1000\n  window: 1000000\n'
  // `kiln up` inherits this environment: N comes from the flag alone (N = 1 is its default, so no flag).
  delete process.env.KILN_ROUTER_PROCESSES
  const rows: Row[] = []
  const leftAfterStop: { processes: number; pid: number; cmd: string }[] = []
  process.stderr.write(`routers bench: N = ${PROCESSES.join(', ')}; ${SECONDS}s per run after ${WARMUP}s warm-up (${FIRST_WARMUP}s after the deploy), wrk 1 thread on CPU 1, --timeout ${TIMEOUT_S}s; load average ${machine.loadavgAtStart.join(' ')}\n`)
  // Every N's `kiln up` runs from the start and they are measured in turns (N=1, N=2, then the next
  // level), so a load that comes and goes on the shared machine falls on each alike; the one not
  // measured is idle.
  const servers: Server[] = []
  try {
    for (const n of PROCESSES) {
      const k = await startKiln(['--pool-size', '1', '--budget', '16', ...(n > 1 ? ['--router-processes', String(n)] : [])], [], { kilnYaml })
      const s: Server = {
        n, k, primary: k.child.pid!, url: `${k.url}/fn/hello`,
        async instanceOf() {
          const fn = await k.api<{ status: { instances: { id: string; pid: number }[] } }>('GET', '/functions/hello')
          if (fn.status.instances.length !== 1) throw new Error(`expected one instance of hello, found ${fn.status.instances.length}`)
          return fn.status.instances[0]
        },
      }
      servers.push(s)
      await waitRouters(k, n)
      const pkg = await k.upload(join(root, 'bench', 'lib', 'functions', 'hello.mjs'))
      // One instance takes every request, as in bench:router.
      await k.deploy('hello', pkg, { concurrency: 10_000, maxScale: 1, queueSize: 100_000 })
      const first = await timedGet(s.url)
      if (first.status !== 200 || first.body !== 'hello') throw new Error(`hello answered ${first.status} ${first.body}`)
      // Fresh router processes serve their first seconds several times slower (compiling, growing their
      // connections): not what this bench measures.
      if (FIRST_WARMUP > 0) await wrk({ url: s.url, connections: CONNS[0], seconds: FIRST_WARMUP, reporter, cpu: WRK_CPU, timeoutS: TIMEOUT_S })
      const workers = routerWorkers(s.primary)
      if (n > 1 && workers.length !== n) process.stderr.write(`warning: N = ${n} but kiln up has ${workers.length} router-worker children\n`)
    }
    for (const placement of PLACEMENTS) {
      for (const c of CONNS) {
        for (const s of servers) rows.push(await measure(s, placement, c, reporter))
      }
    }
  } finally {
    const trees = servers.map((s) => ({ n: s.n, tree: descendants(s.primary) }))
    for (const s of servers) await s.k.stop()
    // What the stop left: a process of kiln's tree still there (same pid, same command) after 5 s.
    const deadline = Date.now() + 5000
    for (const { n, tree } of trees) {
      let left = tree
      for (;;) {
        left = tree.filter((p) => existsSync(`/proc/${p.pid}`) && cmdlineOf(p.pid) === p.cmd)
        if (left.length === 0 || Date.now() > deadline) break
        await new Promise((r) => setTimeout(r, 100))
      }
      for (const p of left) leftAfterStop.push({ processes: n, ...p })
    }
  }

  // The crossover model, from each placement's CPU per request.
  const at = (n: number, placement: Placement, c: number) => rows.find((r) => r.processes === n && r.placement === placement && r.connections === c)
  const models: Model[] = []
  for (const c of CONNS) {
    for (const n of PROCESSES.filter((x) => x > 1)) {
      for (const p of PLACEMENTS) {
        const one = at(1, p, c)
        const multi = at(n, p, c)
        if (one && multi) models.push(model(one, multi))
      }
    }
  }

  const load = loadavg().map((x) => Math.round(x * 100) / 100)
  console.log(`\nrouter processes (${SECONDS}s runs, wrk 1 thread on CPU 1, --timeout ${TIMEOUT_S}s; pinned: servers on CPU 0; two-cores: servers on CPUs 0-1, wrk shares CPU 1 with them)`)
  console.log(`load average at start ${machine.loadavgAtStart.join(' ')}, at the end ${load.join(' ')} (a shared machine: the figures are as quiet as it was)`)
  console.log('N  placement   conns    req/s   p50 ms   p99 ms  errors  timeouts | cpu µs/req: primary  workers  instance  other  total | served per worker (max/min)   load')
  for (const r of rows) {
    const cu = r.cpuUsPerRequest
    const served = r.served ? `${r.served.join('/')} (${fmt(r.servedSpread)})` : '-'
    console.log(`${String(r.processes).padEnd(2)} ${r.placement.padEnd(10)} ${String(r.connections).padStart(6)} ${String(r.rps).padStart(8)} ${fmt(r.p50, 3).padStart(8)} ${fmt(r.p99, 3).padStart(8)} ${String(r.errors).padStart(7)} ${String(r.errorKinds.timeout).padStart(9)} | ${fmt(cu.primary, 1).padStart(20)} ${fmt(cu.workers, 1).padStart(8)} ${fmt(cu.instance, 1).padStart(9)} ${fmt(cu.other, 1).padStart(6)} ${fmt(cu.total, 1).padStart(6)} | ${served.padEnd(28)} ${r.loadavg1}${r.instanceChanged ? '  (instance changed)' : ''}${r.workerRestarts ? `  (${r.workerRestarts} worker restarts)` : ''}`)
  }
  const idle = rows.filter((r) => r.served?.some((s) => s <= 0))
  if (idle.length > 0) console.log(`\nWORKERS THAT SERVED NOTHING: ${idle.map((r) => `N=${r.processes} ${r.placement} c${r.connections}: ${r.served!.join('/')}`).join('; ')}`)

  for (const c of CONNS) {
    for (const n of PROCESSES.filter((x) => x > 1)) {
      const ms = models.filter((m) => m.conns === c && m.processes === n)
      if (ms.length === 0) continue
      const label = (m: Model) => `${m.placement} (${m.measured.cores} core${m.measured.cores > 1 ? 's' : ''})`
      console.log(`\ncrossover MODEL (not a measurement): one router process against ${n}, c${c}, from the CPU per request measured in this run`)
      console.log('  one process ≤ min(1e6/router, C·1e6/(router+instance)); N processes ≤ min(1e6/primary, N·1e6/workers, C·1e6/(primary+workers+instance)), best N ≤ C')
      for (const m of ms) console.log(`  ${label(m).padEnd(20)} one process: router ${fmt(m.one.routerUs, 1)} µs/req, instance ${fmt(m.one.instanceUs, 1)};  ${n} processes: primary ${fmt(m.multi.primaryUs, 1)}, workers ${fmt(m.multi.workerUs, 1)}, instance ${fmt(m.multi.instanceUs, 1)}`)
      console.log(`  cores${ms.map((m) => ` | ${`from ${m.placement}:`.padEnd(16)} one req/s (limit)   N req/s (N, limit)      x`).join('')}`)
      for (let i = 0; i < MAX_CORES; i++) {
        const cells = ms.map((m) => {
          const t = m.table[i]
          return ` | ${String(t.one.rps).padStart(16)} ${`(${t.one.limit})`.padEnd(9)} ${String(t.multi.rps).padStart(7)} ${`(${t.multi.n}, ${t.multi.limit})`.padEnd(13)} ${fmt(t.ratio).padStart(5)}`
        })
        console.log(`  ${String(i + 1).padStart(5)}${cells.join('')}`)
      }
      for (const m of ms) console.log(`  crossover from ${m.placement}'s CPU: ${m.crossoverCores === undefined ? `${n} processes do not beat one up to ${MAX_CORES} cores` : `N processes beat one from ${m.crossoverCores} core${m.crossoverCores > 1 ? 's' : ''}`} (model)`)
      for (const m of ms) console.log(`  measured ${n} processes vs one, ${label(m)}${m.placement === 'two-cores' ? ', wrk sharing one' : ''}: ${fmt(m.measured.ratio)}x (model ${fmt(m.measured.model)}x)`)
      console.log(`  the model lets instances scale out; this bench's one instance (maxScale 1) alone serves at most ${ms.map((m) => `${m.instanceCapRps} req/s (${m.placement})`).join(', ')}`)
    }
  }
  console.log(`\nafter stop: ${leftAfterStop.length === 0 ? 'no process of kiln\'s tree left' : `LEFT ${leftAfterStop.map((p) => `N=${p.processes} pid ${p.pid} ${p.cmd}`).join('; ')}`}`)

  const outDir = join(root, 'bench', 'results')
  mkdirSync(outDir, { recursive: true })
  const stamp = started.toISOString().slice(0, 19).replace(/:/g, '-')
  const out = join(outDir, `routers-${stamp}.json`)
  writeFileSync(out, JSON.stringify({ bench: 'routers', startedAt: started.toISOString(), seconds: SECONDS, warmupSeconds: WARMUP, firstWarmupSeconds: FIRST_WARMUP, wrkTimeoutSeconds: TIMEOUT_S, placements: PLACEMENTS, machine: { ...machine, loadavgAtEnd: load }, rows, models, leftAfterStop }, null, 2) + '\n')
  console.log(`\nwrote ${out}`)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
