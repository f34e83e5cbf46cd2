// The built `kiln up` (the bundle, as users run it): human-readable log lines on a terminal
// (pino-pretty) and JSON lines otherwise, KILN_LOG_FORMAT overriding either way (the terminal is a
// real pseudo-terminal, util-linux `script`); /readyz; and its spans exported over OTLP/HTTP to a
// receiver when KILN_OTLP_ENDPOINT is set.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { KILN, ROOT, childrenOf, freePort, get, kiln, rememberDataDir } from '../helpers/cli.js'
import { until } from '../helpers/until.js'

const hasScript = spawnSync('script', ['--version']).status === 0
const ANSI = /\x1b\[[0-9;]*m/g

interface Run { child: ChildProcess; url: string; output: () => string; kilnPid: () => Promise<number>; dataDir: string }

describe('kiln up (built)', () => {
  const runs: Run[] = []
  afterEach(async () => {
    for (const r of runs.splice(0)) {
      const pid = await r.kilnPid().catch(() => undefined)
      if (pid !== undefined) try { process.kill(pid, 'SIGTERM') } catch { /* gone */ }
      if (r.child.exitCode === null && r.child.signalCode === null) await new Promise((res) => r.child.once('exit', res))
      await rm(r.dataDir, { recursive: true, force: true })
    }
  })

  async function up(onTerminal: boolean, env: Record<string, string> = {}): Promise<Run> {
    const dataDir = await mkdtemp(join(tmpdir(), 'kiln-logs-'))
    const port = await freePort()
    const args = [KILN, 'up', '--port', String(port), '--data', dataDir, '--pool-size', '0', '--cgroups', 'none', '--log-level', 'info']
    const cmd = ['exec', process.execPath, ...args].map((a) => `'${a}'`).join(' ').replace(/^'exec'/, 'exec')
    // `script` gives kiln a pseudo-terminal as stdout and copies what it writes to its own stdout.
    const child = onTerminal
      ? spawn('script', ['-qfec', cmd, '/dev/null'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] })
      : spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout!.on('data', (d) => (out += d))
    child.stderr!.on('data', (d) => (out += d))
    // script's child is kiln itself (the shell exec'd it).
    const kilnPid = async () => (onTerminal ? (await childrenOf(child.pid!))[0] : child.pid!)
    const run = { child, url: `http://127.0.0.1:${port}`, output: () => out, kilnPid, dataDir }
    rememberDataDir(run.url, dataDir) // the CLI finds its admin.token
    runs.push(run)
    return run
  }

  it.runIf(hasScript)('on a terminal: readable lines, not JSON', async () => {
    const r = await up(true, { KILN_LOG_FORMAT: '' })
    const text = await until('the start line', async () => { const o = r.output().replace(ANSI, ''); return o.includes('kiln is up') && o })
    const line = text.split(/\r?\n/).find((l) => l.includes('kiln is up'))!
    expect(line).toMatch(/^\[\d{2}:\d{2}:\d{2}\.\d{3}\] INFO \(kiln\): kiln is up/)
    expect(text).not.toMatch(/^\{"level"/m)
  })

  it.runIf(hasScript)('on a terminal with KILN_LOG_FORMAT=json: JSON lines', async () => {
    const r = await up(true, { KILN_LOG_FORMAT: 'json' })
    const text = await until('the start line', async () => { const o = r.output(); return o.includes('kiln is up') && o })
    const line = text.split(/\r?\n/).find((l) => l.includes('kiln is up'))!
    expect(JSON.parse(line)).toMatchObject({ level: 30, msg: 'kiln is up', name: 'kiln' })
  })

  it('into a pipe: one JSON object per line', async () => {
    const r = await up(false, { KILN_LOG_FORMAT: '' })
    const text = await until('the start line', async () => { const o = r.output(); return o.includes('kiln is up') && o })
    const lines = text.split('\n').filter((l) => l.startsWith('{'))
    expect(lines.length).toBeGreaterThan(0)
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow()
    expect(lines.map((l) => JSON.parse(l) as { msg: string })).toContainEqual(expect.objectContaining({ msg: 'kiln is up', level: 30 }))
  })

  it('exports its spans to KILN_OTLP_ENDPOINT and flushes them when stopped', async () => {
    const posts: string[] = []
    const receiver = createServer((req, res) => {
      let body = ''
      req.on('data', (c: Buffer) => (body += c))
      req.on('end', () => {
        if (req.url === '/v1/traces') posts.push(body)
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
      })
    })
    receiver.listen(0, '127.0.0.1')
    await once(receiver, 'listening')
    try {
      const r = await up(false, { KILN_OTLP_ENDPOINT: `http://127.0.0.1:${(receiver.address() as { port: number }).port}` })
      await until('kiln up to be ready', async () => (await get(`${r.url}/readyz`).catch(() => ({ status: 0 }))).status === 200, 30_000)
      const deployed = await kiln(['fn', 'deploy', 'hello', '--code', join(ROOT, 'examples', 'hello', 'index.js')], { KILN_URL: r.url })
      expect(deployed.code, deployed.stderr).toBe(0)
      const traceId = 'a3ce929d0e0e47364bf92f3577b34da6'
      const res = await get(`${r.url}/fn/hello`, { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } })
      expect(res.status).toBe(200)
      process.kill(await r.kilnPid(), 'SIGTERM')
      await once(r.child, 'exit')
      const names = posts.flatMap((b) => (JSON.parse(b) as { resourceSpans: { scopeSpans: { spans: { traceId: string; name: string }[] }[] }[] }).resourceSpans)
        .flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)).filter((sp) => sp.traceId === traceId).map((sp) => sp.name).sort()
      expect(names).toEqual(['GET hello', 'kiln.acquire', 'kiln.proxy', 'kiln.queue_wait', 'kiln.specialize'])
    } finally {
      receiver.close()
    }
  })
})
