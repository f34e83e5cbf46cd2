// A real `kiln up` process: a Fission Workflows file deployed with the CLI and invoked over HTTP, and
// the expression sandbox's worker processes gone with `kiln up` when it is killed with SIGKILL.
import { readdirSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { kiln, kilnUp, ROOT, type UpProcess } from '../helpers/cli.js'
import { until } from '../helpers/until.js'

const F = join(ROOT, 'test', 'integration', 'workflows-platform', 'fixtures')

/** Pids of the sandbox workers whose parent is `pid` (from /proc). */
async function sandboxWorkers(pid: number): Promise<number[]> {
  const out: number[] = []
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = await readFile(`/proc/${p}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      const cmd = await readFile(`/proc/${p}/cmdline`, 'utf8')
      if (ppid === pid && cmd.includes('expression-worker.js')) out.push(Number(p))
    } catch {
      // the process went away while we looked
    }
  }
  return out
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('Fission Workflows in a real kiln up', () => {
  let dataDir: string
  let up: UpProcess | undefined

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'kiln-e2e-fission-'))
    up = await kilnUp(dataDir, ['--cgroups', 'none'])
  })
  afterAll(async () => {
    await up?.stop('SIGKILL')
    await rm(dataDir, { recursive: true, force: true })
  })

  it('deploys a *.wf.yaml with the CLI, runs it over HTTP, and its sandbox workers die with kiln up (SIGKILL)', async () => {
    const d = await kiln(['wf', 'deploy', join(F, 'shout.wf.yaml')], { KILN_URL: up!.url })
    expect(d.code, d.stderr).toBe(0)
    const res = await request(`${up!.url}/wf/shout`, { method: 'POST', body: 'hello world', headers: { 'content-type': 'text/plain' } })
    expect(res.statusCode).toBe(200)
    expect(await res.body.json()).toEqual(['HELLO', 'WORLD'])

    const workers = await sandboxWorkers(up!.child.pid!)
    expect(workers.length).toBeGreaterThan(0)
    await up!.stop('SIGKILL')
    up = undefined
    await until('sandbox workers to exit after kiln up was killed', async () => workers.every((w) => !alive(w)))
  })
})
