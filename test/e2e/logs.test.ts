// `kiln up` writes human-readable log lines on a terminal (pino-pretty) and JSON lines otherwise;
// KILN_LOG_FORMAT overrides either way. The terminal is a real pseudo-terminal (util-linux `script`).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { KILN, ROOT, freePort } from '../helpers/cli.js'
import { until } from '../helpers/until.js'

const hasScript = spawnSync('script', ['--version']).status === 0
const ANSI = /\x1b\[[0-9;]*m/g

interface Run { child: ChildProcess; output: () => string; kilnPid: () => Promise<number>; dataDir: string }

describe('kiln up logs', () => {
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
    const kilnPid = async () => {
      if (!onTerminal) return child.pid!
      // script's child is kiln itself (the shell exec'd it).
      const kids = (await readFile(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8')).trim().split(/\s+/).filter(Boolean)
      return Number(kids[0])
    }
    const run = { child, output: () => out, kilnPid, dataDir }
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
})
