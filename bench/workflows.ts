// `npm run bench:workflows`: what the workflow engine adds per task, end to end through a `kiln up`
// process, with executions in SQLite (the embedded default) and (when redis-server is installed) in Redis:
//   seq10  a 10-step sequence (each step requires the previous)  vs  the same 10 calls made one after
//          another from this script
//   fan100 a 100-way foreach (concurrency 100)                   vs  the same 100 calls made at once
// Overhead per task = (workflow time − direct time) / tasks. Also from the execution record: the
// execution's duration minus the summed task durations (the engine's own bookkeeping between tasks).
// Reported, never asserted.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { agent, findRoot, startKiln, type KilnProcess } from './lib/kiln-process.js'
import { summarize, type Summary } from './lib/percentiles.js'
import { REDIS_SERVER, startBenchRedis } from './lib/redis.js'

const N = Number(process.env.BENCH_SAMPLES ?? 20)
const root = findRoot()

async function post(url: string, body: unknown): Promise<{ ms: number; status: number; text: string; execution?: string }> {
  const t0 = performance.now()
  const r = await request(url, { method: 'POST', dispatcher: agent, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
  const text = await r.body.text()
  return { ms: performance.now() - t0, status: r.statusCode, text, execution: r.headers['x-kiln-execution'] as string | undefined }
}

function ok(r: { status: number; text: string }, what: string): void {
  if (r.status !== 200) throw new Error(`${what}: ${r.status} ${r.text}`)
}

interface Case { workflowMs: Summary; directMs: Summary; executionMs: Summary; overheadPerTaskMs: number; engineGapPerTaskMs?: Summary }

async function measure(k: KilnProcess): Promise<{ callMs: Summary; seq10: Case; fan100: Case }> {
  const fn = `${k.url}/fn/echo`
  const tasks: Record<string, unknown> = {}
  for (let i = 0; i < 10; i++) tasks[`s${i}`] = { function: 'echo', input: { i }, ...(i > 0 ? { requires: [`s${i - 1}`] } : {}) }
  await k.api('PUT', '/workflows/seq10', { name: 'seq10', tasks })
  await k.api('PUT', '/workflows/fan100', { name: 'fan100', tasks: { fan: { foreach: '{{ $.input.items }}', concurrency: 100, do: { function: 'echo', input: { i: '{{ $.item }}' } } } } })
  const items = Array.from({ length: 100 }, (_, i) => i)

  // Warm up: the instance, the router's connections, the engine's code paths.
  for (let i = 0; i < 30; i++) ok(await post(fn, { i }), 'warm-up call')
  await Promise.all(items.map((i) => post(fn, { i })))
  for (let i = 0; i < 3; i++) {
    ok(await post(`${k.url}/wf/seq10`, {}), 'warm-up seq10')
    ok(await post(`${k.url}/wf/fan100`, { items }), 'warm-up fan100')
  }

  const call: number[] = []
  const seq = { wf: [] as number[], direct: [] as number[], exec: [] as number[], gap: [] as number[] }
  const fan = { wf: [] as number[], direct: [] as number[], exec: [] as number[], gap: [] as number[] }
  for (let s = 0; s < N; s++) {
    // direct: 10 calls one after another, then 100 at once
    const t0 = performance.now()
    for (let i = 0; i < 10; i++) {
      const r = await post(fn, { i })
      ok(r, 'direct call')
      call.push(r.ms)
    }
    seq.direct.push(performance.now() - t0)
    const t1 = performance.now()
    const all = await Promise.all(items.map((i) => post(fn, { i })))
    all.forEach((r) => ok(r, 'direct fan call'))
    fan.direct.push(performance.now() - t1)

    for (const [name, body, into, n] of [['seq10', {}, seq, 10], ['fan100', { items }, fan, 100]] as const) {
      const r = await post(`${k.url}/wf/${name}`, body)
      ok(r, name)
      into.wf.push(r.ms)
      const x = await k.api<{ durationMs: number; tasks: Record<string, { durationMs: number }> }>('GET', `/executions/${r.execution}`)
      into.exec.push(x.durationMs)
      // the sequence's bookkeeping between its tasks: execution time minus the sum of its tasks' times
      if (name === 'seq10') into.gap.push((x.durationMs - Object.entries(x.tasks).filter(([p]) => /^s\d+$/.test(p)).reduce((a, [, t]) => a + t.durationMs, 0)) / n)
    }
  }
  const mk = (c: typeof seq, n: number): Case => {
    const w = summarize(c.wf)
    const d = summarize(c.direct)
    return {
      workflowMs: w, directMs: d, executionMs: summarize(c.exec),
      overheadPerTaskMs: Math.round(((w.p50 - d.p50) / n) * 1000) / 1000,
      ...(c.gap.length ? { engineGapPerTaskMs: summarize(c.gap) } : {}),
    }
  }
  return { callMs: summarize(call), seq10: mk(seq, 10), fan100: mk(fan, 100) }
}

async function run(store: string, args: string[]): Promise<Awaited<ReturnType<typeof measure>>> {
  const k = await startKiln(['--pool-size', '2', ...args])
  const src = mkdtempSync(join(tmpdir(), 'kiln-bench-wf-fn-'))
  try {
    const file = join(src, 'echo.mjs')
    writeFileSync(file, 'export default async (req) => ({ i: req.body?.i ?? null })\n')
    await k.deploy('echo', await k.upload(file))
    process.stderr.write(`measuring with executions in ${store} (${N} samples)…\n`)
    return await measure(k)
  } finally {
    await k.stop()
    rmSync(src, { recursive: true, force: true })
  }
}

async function main(): Promise<void> {
  const results: Record<string, Awaited<ReturnType<typeof measure>>> = {}
  results.sqlite = await run('sqlite', [])
  const redis = await startBenchRedis()
  if (redis) {
    try {
      results.redis = await run('redis', ['--redis', redis.url])
    } finally {
      await redis.stop()
    }
  } else process.stderr.write(`no ${REDIS_SERVER}: Redis skipped\n`)

  const f = (n: number) => n.toFixed(2).padStart(9)
  const lines = [
    'store    case     workflow p50   direct p50   execution p50   overhead/task   gap between tasks p50   (ms)',
  ]
  for (const [store, r] of Object.entries(results)) {
    for (const [name, c] of [['seq10', r.seq10], ['fan100', r.fan100]] as const) {
      lines.push(`${store.padEnd(8)} ${name.padEnd(7)} ${f(c.workflowMs.p50)}     ${f(c.directMs.p50)}    ${f(c.executionMs.p50)}       ${f(c.overheadPerTaskMs)}       ${c.engineGapPerTaskMs ? f(c.engineGapPerTaskMs.p50) : '        -'}`)
    }
    lines.push(`${store.padEnd(8)} one direct call p50 ${r.callMs.p50.toFixed(2)} ms`)
  }
  process.stdout.write(lines.join('\n') + '\n')

  const out = join(root, 'bench', 'results')
  mkdirSync(out, { recursive: true })
  const file = join(out, `workflows-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
  writeFileSync(file, JSON.stringify({ samples: N, node: process.version, results }, null, 2) + '\n')
  process.stdout.write(`wrote ${file}\n`)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
