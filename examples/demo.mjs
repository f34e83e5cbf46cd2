#!/usr/bin/env node
// `npm run demo`: starts the embedded platform, deploys the examples with the real CLI, invokes them,
// prints what happened (cold vs warm latency), stops everything.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'

const root = join(import.meta.dirname, '..')
const kilnJs = join(root, 'dist', 'kiln.js')
const dataDir = mkdtempSync(join(tmpdir(), 'kiln-demo-'))
const port = await new Promise((r) => { const s = createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => r(p)) }) })
const url = `http://127.0.0.1:${port}`
const say = (s) => process.stdout.write(s + '\n')
const ms = (x) => `${x.toFixed(2)} ms`

function kiln(...args) {
  say(`\n$ kiln ${args.join(' ')}`)
  // The CLI finds the admin token `kiln up` wrote into its data dir (a loopback server: KILN_DATA).
  const r = spawnSync(process.execPath, [kilnJs, ...args], { env: { ...process.env, KILN_URL: url, KILN_DATA: dataDir }, encoding: 'utf8' })
  process.stdout.write(r.stdout)
  process.stdout.write(r.stderr.replace(/\x1b\[[0-9;]*m/g, ''))
  if (r.status !== 0) throw new Error(`kiln ${args.join(' ')} exited ${r.status}`)
  return r.stdout
}

async function timed(path) {
  const t0 = performance.now()
  const res = await request(`${url}${path}`)
  const body = await res.body.text()
  return { ms: performance.now() - t0, status: res.statusCode, body }
}

/** GET /v1/pools with the admin token (every /v1 call needs one). */
async function pools() {
  const r = await request(`${url}/v1/pools`, { headers: { authorization: `Bearer ${readFileSync(join(dataDir, 'admin.token'), 'utf8').trim()}` } })
  return r.body.json()
}

const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] }

say(`Starting the embedded platform: kiln up --port ${port} --data ${dataDir}`)
const up = spawn(process.execPath, [kilnJs, 'up', '--port', String(port), '--data', dataDir, '--log-level', 'warn'], { stdio: ['ignore', 'inherit', 'inherit'] })
let code = 0
try {
  for (let i = 0; ; i++) {
    try { const r = await request(`${url}/healthz`); await r.body.dump(); if (r.statusCode === 200) break } catch {}
    if (i > 200) throw new Error('kiln up did not start')
    await new Promise((r) => setTimeout(r, 50))
  }
  // Let the generic pool finish booting so the first request measures specialization, not a boot.
  for (let i = 0; i < 100; i++) {
    if ((await pools()).every((p) => p.ready >= p.target)) break
    await new Promise((r) => setTimeout(r, 50))
  }
  kiln('runtime', 'list')
  kiln('fn', 'deploy', 'hello', '--runtime', 'node', '--code', 'examples/hello/index.js')
  kiln('fn', 'deploy', 'hello-fission', '--code', 'examples/fission-hello/hello.js')

  const first = await timed('/fn/hello?name=Ada')
  say(`\nvery first request (kiln up itself is still cold too):                      ${first.status} ${first.body}  ${ms(first.ms)}`)
  const coldFission = await timed('/fn/hello-fission?name=Grace')
  say(`first request to a Fission-style function (cold):                          ${coldFission.status} ${coldFission.body}  ${ms(coldFission.ms)}`)
  kiln('fn', 'deploy', 'hello-again', '--code', 'examples/hello/index.js', '-q')
  for (let i = 0; i < 100; i++) {
    if ((await pools()).every((p) => p.ready >= p.target)) break
    await new Promise((r) => setTimeout(r, 50))
  }
  const cold = await timed('/fn/hello-again?name=Ada')
  say(`first request to another function (cold: pooled instance specialized on demand): ${cold.status} ${cold.body}  ${ms(cold.ms)}`)

  const warm = []
  for (let i = 0; i < 300; i++) warm.push((await timed('/fn/hello?name=Ada')).ms)
  say(`warm requests (300, sequential): p50 ${ms(pct(warm, 50))}  p99 ${ms(pct(warm, 99))}`)
  say(`cold/warm p50 ratio: ${(cold.ms / pct(warm, 50)).toFixed(1)}x`)

  kiln('route', 'add', '--method', 'GET', '--path', '/greet/:name', '--function', 'hello')
  const routed = await timed('/greet/Lin')
  say(`GET /greet/Lin -> ${routed.status} ${routed.body}`)
  kiln('fn', 'invoke', 'hello', '--data', '{"name":"Ada"}')
  say('')
  kiln('fn', 'list')
  kiln('pool', 'list')
  kiln('fn', 'delete', 'hello-fission')
  kiln('fn', 'delete', 'hello-again')
} catch (e) {
  say(`demo failed: ${e.message}`)
  code = 1
} finally {
  up.kill('SIGTERM')
  await new Promise((r) => up.once('exit', r))
  rmSync(dataDir, { recursive: true, force: true })
  say('\nStopped kiln and every instance it started.')
}
process.exit(code)
