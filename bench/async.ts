// `npm run bench:async`: what async invocations cost, end to end through a `kiln up` process, with the
// state in SQLite (the embedded default) and in Redis (appendfsync always, as deploy/redis runs it),
// in one run:
//   accept   concurrent `POST /async/fn/noop` (202 once stored): accepted invocations per second and
//            the 202's latency; then how fast the platform drains that backlog (invocations run per
//            second, from kiln_async_attempts_total)
//   cpu      CPU time of the platform and its instances (from /proc) per synchronous call, in a burst
//            of the same size, against per async invocation (accept + dispatch + call + record):
//            steadier than requests per second on a shared machine
//   latency  one call at a time: a synchronous `POST /fn/noop` against an async one, timed from the
//            request to its callback arriving here (accept + dispatch + call + record + callback); the
//            difference is the added latency of async over sync. Also the record's own createdAt →
//            finishedAt.
// Reported, never asserted.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { agent, findRoot, startKiln, type KilnProcess } from './lib/kiln-process.js'
import { cpuUs } from './lib/cpu-time.js'
import { summarize, type Summary } from './lib/percentiles.js'
import { REDIS_SERVER, startBenchRedis } from './lib/redis.js'

const ACCEPTS = Number(process.env.BENCH_ACCEPTS ?? 3000)
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32)
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 200)
const root = findRoot()

interface Result {
  syncCpuUsPerCall: number
  asyncCpuUsPerInvocation: number
  acceptPerSec: number
  acceptMs: Summary
  drainPerSec: number
  syncMs: Summary
  asyncEndToEndMs: Summary
  addedMs: number
  recordMs: Summary
}

/** A callback listener: resolves the waiter for an invocation id when its callback arrives. */
async function callbacks(): Promise<{ port: number; wait(id: string): Promise<number>; close(): Promise<void> }> {
  const waiters = new Map<string, (t: number) => void>()
  const early = new Map<string, number>()
  const server = createServer((req, res) => {
    const t = performance.now()
    req.resume()
    req.on('end', () => {
      const id = String(req.headers['x-kiln-invocation-id'])
      const w = waiters.get(id)
      if (w) { waiters.delete(id); w(t) } else early.set(id, t)
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    port: (server.address() as { port: number }).port,
    wait: (id) => {
      const t = early.get(id)
      if (t !== undefined) { early.delete(id); return Promise.resolve(t) }
      return new Promise((resolve) => waiters.set(id, resolve))
    },
    close: () => new Promise((r) => server.close(() => r())),
  }
}

async function post(url: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const r = await request(url, { method: 'POST', dispatcher: agent, body: '{}', headers: { 'content-type': 'application/json', ...headers } })
  return { status: r.statusCode, text: await r.body.text() }
}

async function succeeded(k: KilnProcess): Promise<number> {
  const r = await request(`${k.url}/metrics`, { dispatcher: agent })
  const m = /^kiln_async_attempts_total\{function="noop",outcome="succeeded"\} (\d+)/m.exec(await r.body.text())
  return m ? Number(m[1]) : 0
}

async function measure(k: KilnProcess, cb: Awaited<ReturnType<typeof callbacks>>): Promise<Result> {
  const syncUrl = `${k.url}/fn/noop`
  const asyncUrl = `${k.url}/async/fn/noop`
  // Warm up: the instance, the connections, both paths.
  for (let i = 0; i < 200; i++) await post(syncUrl)
  for (let i = 0; i < 200; i++) await post(asyncUrl)
  for (let until = Date.now() + 30_000; (await succeeded(k)) < 200 && Date.now() < until;) await new Promise((r) => setTimeout(r, 50))

  const burst = async (url: string, status: number, each?: (ms: number) => void) => {
    let next = 0
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < ACCEPTS) {
        const s = performance.now()
        const r = await post(url)
        if (r.status !== status) throw new Error(`${url}: ${r.status} ${r.text}`)
        each?.(performance.now() - s)
      }
    }))
  }
  const pid = k.child.pid!
  const cpu0 = cpuUs(pid, true)
  await burst(syncUrl, 200)
  const cpu1 = cpuUs(pid, true)

  // accept: CONCURRENCY clients until ACCEPTS are stored
  const before = await succeeded(k)
  const acceptMs: number[] = []
  const t0 = performance.now()
  await burst(asyncUrl, 202, (ms) => acceptMs.push(ms))
  const acceptSecs = (performance.now() - t0) / 1000
  for (let until = Date.now() + 120_000; (await succeeded(k)) < before + ACCEPTS && Date.now() < until;) await new Promise((r) => setTimeout(r, 20))
  const drainSecs = (performance.now() - t0) / 1000
  const cpu2 = cpuUs(pid, true)

  // latency: one call at a time, sync then async
  const sync: number[] = []
  const e2e: number[] = []
  const record: number[] = []
  const hook = `http://127.0.0.1:${cb.port}/done`
  for (let i = 0; i < SAMPLES; i++) {
    let s = performance.now()
    const r = await post(syncUrl)
    if (r.status !== 200) throw new Error(`sync: ${r.status}`)
    sync.push(performance.now() - s)
    s = performance.now()
    const a = await post(asyncUrl, { 'x-callback-url': hook })
    if (a.status !== 202) throw new Error(`async: ${a.status} ${a.text}`)
    const id = JSON.parse(a.text).id as string
    e2e.push((await cb.wait(id)) - s)
    const x = await k.api<{ createdAt: string; finishedAt: string }>('GET', `/invocations/${id}`)
    record.push(Date.parse(x.finishedAt) - Date.parse(x.createdAt))
  }
  const syncMs = summarize(sync)
  const asyncEndToEndMs = summarize(e2e)
  return {
    syncCpuUsPerCall: Math.round((cpu1 - cpu0) / ACCEPTS),
    asyncCpuUsPerInvocation: Math.round((cpu2 - cpu1) / ACCEPTS),
    acceptPerSec: Math.round(ACCEPTS / acceptSecs),
    acceptMs: summarize(acceptMs),
    drainPerSec: Math.round(ACCEPTS / drainSecs),
    syncMs, asyncEndToEndMs,
    addedMs: Math.round((asyncEndToEndMs.p50 - syncMs.p50) * 1000) / 1000,
    recordMs: summarize(record),
  }
}

async function run(store: string, args: string[]): Promise<Result> {
  const cb = await callbacks()
  const k = await startKiln(['--pool-size', '2', ...args], [], { kilnYaml: `callbackHosts: ["127.0.0.1:${cb.port}"]\n` })
  const src = mkdtempSync(join(tmpdir(), 'kiln-bench-async-fn-'))
  try {
    const file = join(src, 'noop.mjs')
    writeFileSync(file, 'export default async () => ({ ok: true })\n')
    await k.deploy('noop', await k.upload(file))
    process.stderr.write(`measuring with state in ${store} (${ACCEPTS} accepts by ${CONCURRENCY} clients, ${SAMPLES} latency samples)…\n`)
    return await measure(k, cb)
  } finally {
    await k.stop()
    await cb.close()
    rmSync(src, { recursive: true, force: true })
  }
}

async function main(): Promise<void> {
  const results: Record<string, Result> = {}
  results.sqlite = await run('sqlite', [])
  const redis = await startBenchRedis(['--appendonly', 'yes', '--appendfsync', 'always'])
  if (redis) {
    try {
      results.redis = await run('redis', ['--redis', redis.url])
    } finally {
      await redis.stop()
    }
  } else process.stderr.write(`no ${REDIS_SERVER}: Redis skipped\n`)

  const f = (n: number, w = 8) => n.toFixed(2).padStart(w)
  const lines = ['state    accepted/s  202 p50  202 p99  drained/s   sync p50  async e2e p50  added p50  created→finished p50   (ms)']
  for (const [store, r] of Object.entries(results)) {
    lines.push(`${store.padEnd(8)} ${String(r.acceptPerSec).padStart(10)} ${f(r.acceptMs.p50)} ${f(r.acceptMs.p99)} ${String(r.drainPerSec).padStart(10)} ${f(r.syncMs.p50, 10)} ${f(r.asyncEndToEndMs.p50, 14)} ${f(r.addedMs, 10)} ${f(r.recordMs.p50, 21)}`)
  }
  lines.push('', 'state    cpu µs per sync call   cpu µs per async invocation   ratio')
  for (const [store, r] of Object.entries(results)) {
    lines.push(`${store.padEnd(8)} ${String(r.syncCpuUsPerCall).padStart(20)} ${String(r.asyncCpuUsPerInvocation).padStart(29)} ${(r.asyncCpuUsPerInvocation / r.syncCpuUsPerCall).toFixed(2).padStart(7)}`)
  }
  process.stdout.write(lines.join('\n') + '\n')

  const out = join(root, 'bench', 'results')
  mkdirSync(out, { recursive: true })
  const file = join(out, `async-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
  writeFileSync(file, JSON.stringify({ accepts: ACCEPTS, concurrency: CONCURRENCY, samples: SAMPLES, node: process.version, results }, null, 2) + '\n')
  process.stdout.write(`wrote ${file}\n`)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
