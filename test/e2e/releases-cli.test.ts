// Releases through the real `kiln` CLI against a real `kiln up`: versions, rollback, aliases, splits and
// a canary, with the exit codes and catalogue errors a script relies on.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { get, kiln, kilnUp, ROOT, type UpProcess } from '../helpers/cli.js'
import { until } from '../helpers/until.js'

const FIXTURE = join(ROOT, 'test', 'fixtures', 'releases', 'release.mjs')

describe('kiln fn versions | rollback | split | canary, kiln alias', () => {
  let dataDir: string
  let up: UpProcess
  let env: Record<string, string>
  const version = async (path: string) => {
    const r = await get(`${up.url}${path}`)
    expect(r.status, r.text).toBe(200)
    return JSON.parse(r.text).version as string
  }

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'kiln-e2e-rel-'))
    up = await kilnUp(dataDir)
    env = { KILN_URL: up.url }
  })
  afterAll(async () => {
    await up?.stop()
    await rm(dataDir, { recursive: true, force: true })
  })

  it('deploys three versions and lists them; rollback returns once the previous one serves', async () => {
    for (const v of ['1', '2', '3']) {
      const d = await kiln(['fn', 'deploy', 'rel', '--code', FIXTURE, '--env', `VERSION=${v}`, '--strategy', 'warm', '--min-warm', '1'], env)
      expect(d.code, d.stderr).toBe(0)
      expect(d.stderr).toContain(`rel ready: version ${v},`)
    }
    const same = await kiln(['fn', 'deploy', 'rel', '--code', FIXTURE, '--env', 'VERSION=3'], env)
    expect(same.stderr).toContain('version 3 (unchanged)')

    const table = await kiln(['fn', 'versions', 'rel'], env)
    expect(table.code).toBe(0)
    expect(table.stdout).toMatch(/^VERSION\s+PACKAGE\s+CHANGED\s+BY\s+AGE\s+TRAFFIC\s+ALIASES$/m)
    expect(table.stdout).toMatch(/^3\s+[0-9a-f]{12}\s+env\s+\S+.*100%/m)
    expect(table.stdout).toMatch(/^1\s+[0-9a-f]{12}\s+\(first\)/m)
    const json = JSON.parse((await kiln(['fn', 'versions', 'rel', '-o', 'json'], env)).stdout)
    expect(json.map((v: any) => v.spec.version)).toEqual([1, 2, 3])

    const rb = await kiln(['fn', 'rollback', 'rel'], env)
    expect(rb.code, rb.stderr).toBe(0)
    expect(rb.stderr).toContain('rel: version 2 serves all traffic (was version 3)')
    expect(await version('/fn/rel')).toBe('2')
    const bad = await kiln(['fn', 'rollback', 'rel', '--to', '99'], env)
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('has no version 99')
    expect((await kiln(['fn', 'rollback', 'nope'], env)).code).toBe(1)
    const list = await kiln(['fn', 'list'], env)
    expect(list.stdout).toMatch(/^rel\s+node\s+warm\s+reuse\s+\d+\s+\d+\s+3\s+2\s/m)
  })

  it('aliases, @N and routes to an alias', async () => {
    const set = await kiln(['alias', 'set', 'rel', 'prod', '--version', '1'], env)
    expect(set.code, set.stderr).toBe(0)
    expect(set.stderr).toContain('rel@prod → version 1')
    expect(await version('/fn/rel@prod')).toBe('1')
    expect(await version('/fn/rel@3')).toBe('3')
    const aliases = await kiln(['alias', 'list', 'rel'], env)
    expect(aliases.stdout).toMatch(/^prod\s+1=100%\s+-$/m)
    const route = await kiln(['route', 'add', '--path', '/rel-prod', '--function', 'rel@prod'], env)
    expect(route.code, route.stderr).toBe(0)
    expect(route.stderr).toContain('-> rel@prod')
    expect(await version('/rel-prod')).toBe('1')
    expect((await kiln(['route', 'add', '--path', '/rel-x', '--function', 'rel@'], env)).code).toBe(1)
    const inUse = await kiln(['alias', 'delete', 'rel', 'prod'], env)
    expect(inUse.code).toBe(1)
    expect(inUse.stderr).toContain('route')
    expect((await kiln(['route', 'delete', 'get-rel-prod'], env)).code).toBe(0)
    expect((await kiln(['alias', 'delete', 'rel', 'prod'], env)).code).toBe(0)
    expect((await get(`${up.url}/fn/rel@prod`)).status).toBe(404)
  })

  it('splits, sticky by a header; bad weights are a user error', async () => {
    const s = await kiln(['fn', 'split', 'rel', '2=50', '3=50', '--sticky-header', 'X-User'], env)
    expect(s.code, s.stderr).toBe(0)
    expect(s.stderr).toContain('rel: 2=50% 3=50% (sticky by header X-User)')
    const seen = new Set<string>()
    for (let i = 0; i < 5; i++) seen.add(JSON.parse((await get(`${up.url}/fn/rel`, { headers: { 'x-user': 'ada' } })).text).version)
    expect(seen.size).toBe(1)
    const bad = await kiln(['fn', 'split', 'rel', '2=50', '3=60'], env)
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('add up to 110')
    expect((await kiln(['fn', 'split', 'rel', 'two=50'], env)).code).toBe(1)
  })

  it('deploy --no-promote, then a canary that reaches 100% under load; status and events show it', async () => {
    const d = await kiln(['fn', 'deploy', 'rel', '--code', FIXTURE, '--env', 'VERSION=4', '--strategy', 'warm', '--min-warm', '1', '--no-promote'], env)
    expect(d.code, d.stderr).toBe(0)
    expect(d.stderr).toContain('version 4 recorded')
    expect(await version('/fn/rel@4')).toBe('4')
    let stop = false
    const loop = (async () => { while (!stop) await get(`${up.url}/fn/rel`) })()
    try {
      const c = await kiln(['fn', 'canary', 'rel', '--to', '4', '--step', '50', '--interval', '1s', '--max-error-rate', '1%', '--max-p99', '5s', '--min-requests', '3'], env)
      expect(c.code, c.stderr).toBe(0)
      expect(c.stderr).toContain('canary to version 4 started at 50%')
      await until('the canary to be promoted', async () => JSON.parse((await kiln(['fn', 'canary', 'status', 'rel', '-o', 'json'], env)).stdout).state === 'promoted', 60_000, 300)
    } finally {
      stop = true
      await loop
    }
    const st = await kiln(['fn', 'canary', 'status', 'rel'], env)
    expect(st.stdout).toMatch(/^state\s+promoted$/m)
    expect(st.stdout).toMatch(/^last check\s+.*within bounds$/m)
    expect(await version('/fn/rel')).toBe('4')
    const ev = await kiln(['events', '--type', 'CanaryPromoted'], env)
    expect(ev.stdout).toMatch(/CanaryPromoted\s+rel\s+version 4 serves all traffic/)
    const none = await kiln(['fn', 'canary', 'abort', 'rel'], env)
    expect(none.code).toBe(1)
    expect(none.stderr).toContain('no canary is running')
    expect((await kiln(['fn', 'canary', 'rel', '--to', '4', '--max-error-rate', 'lots'], env)).code).toBe(1)
  })
})
