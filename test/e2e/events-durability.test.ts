// Async invocations and cron through real `kiln up` processes and the real CLI, durable on both state
// stores: a `kiln up` SIGKILLed with 50 accepted invocations of a slow function finishes all 50 after
// a restart on the same data dir (SQLite, then Redis); and a redis-server killed for 60 s under a
// running `kiln up --redis` pauses dispatch, shows in /healthz, /readyz (advisory: it stays ready for
// synchronous calls), the log and the metrics, fails nothing accepted (nor the workflow execution in
// flight), and resumes when Redis is back.
//
// The outage test takes ~80 s (its bound is generous for a loaded machine): the 60 s is the issue's
// number (an outage longer than the ~40 s that used to fail workflow executions for good), kept in
// this one test.
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { get, kiln, kilnUp, ROOT, type UpProcess } from '../helpers/cli.js'
import { sharedDir, writeMountsConfig } from '../helpers/shared-dir.js'
import { startRedis, useRedis, type TestRedis } from '../helpers/redis.js'
import { until } from '../helpers/until.js'

const COUNTER = join(ROOT, 'test', 'fixtures', 'events', 'counter.mjs')
const WF = join(ROOT, 'test', 'integration', 'workflows-platform', 'fixtures')
const redis = useRedis()

interface Summary { id: string; status: string; attempts: number }

const list = async (url: string, query: string): Promise<Summary[]> => JSON.parse((await get(`${url}/v1/invocations?${query}&limit=1000`)).text)
const accept = async (url: string, path: string) => {
  const res = await get(`${url}/async/fn/${path}`, { method: 'POST', body: '' })
  expect(res.status).toBe(202)
  return JSON.parse(res.text).id as string
}

describe.each(['sqlite', 'redis'] as const)('kiln up (%s) SIGKILLed with 50 accepted async invocations', (store) => {
  let dataDir: string
  let counterDir: string
  let up: UpProcess | undefined
  const flags = () => (store === 'redis' ? ['--redis', redis.current.url] : [])
  const calls = async (key: string) => (await readFile(join(counterDir, key), 'utf8').catch(() => '')).length

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'kiln-e2e-async-'))
    // Instances run in sandboxes: the counter folder is mounted into them (kiln.yaml sandbox.mounts).
    const shared = await sharedDir('kiln-e2e-async-counter-')
    counterDir = shared.dir
    await writeMountsConfig(dataDir, [shared.mount])
  })

  afterAll(async () => {
    await up?.stop()
    await rm(dataDir, { recursive: true, force: true })
    await rm(counterDir, { recursive: true, force: true })
  })

  it('after a restart on the same data dir all 50 succeed; those done before the kill do not run again', async () => {
    up = await kilnUp(dataDir, flags())
    const env = { KILN_URL: up.url }
    const d = await kiln(['fn', 'deploy', 'slow', '--code', COUNTER, '--env', `COUNTER_DIR=${counterDir}`, '--async-concurrency', '5', '-q'], env)
    expect(d.code, d.stderr).toBe(0)

    const ids: string[] = []
    for (let i = 0; i < 50; i++) ids.push(await accept(up.url, 'slow?sleep=400'))
    const before = await until('10 invocations to succeed', async () => {
      const done = await list(up!.url, 'function=slow&status=succeeded')
      return done.length >= 10 ? done : undefined
    }, 60_000, 25)
    await up.stop('SIGKILL')
    const doneBefore = new Set(before.map((s) => s.id))
    expect(doneBefore.size).toBeLessThan(50)

    up = await kilnUp(dataDir, flags())
    const after = await until('all 50 to succeed after the restart', async () => {
      const done = await list(up!.url, 'function=slow&status=succeeded')
      return done.length === 50 ? done : undefined
    }, 90_000)
    expect(new Set(after.map((s) => s.id))).toEqual(new Set(ids))
    expect(await list(up.url, 'function=slow&status=failed')).toEqual([])
    expect(await list(up.url, 'function=slow&status=dead')).toEqual([])
    let total = 0
    for (const id of ids) {
      const n = await calls(id)
      expect(n, id).toBeGreaterThanOrEqual(1)
      if (doneBefore.has(id)) expect(n, id).toBe(1)
      total += n
    }
    // At least once: only the attempts in flight at the kill (at most the cap, 5) ran twice.
    expect(total).toBeLessThanOrEqual(55)

    // The CLI reads the same state.
    const env2 = { KILN_URL: up.url }
    const cli = await kiln(['inv', 'list', '--function', 'slow', '--status', 'succeeded', '-o', 'json'], env2)
    expect(cli.code, cli.stderr).toBe(0)
    expect(JSON.parse(cli.stdout).length).toBe(50)
    const one = await kiln(['inv', 'get', ids[0]!], env2)
    expect(one.code).toBe(0)
    expect(one.stdout).toMatch(/^status\s+succeeded$/m)
    expect(one.stdout).toMatch(/^function\s+slow$/m)
  })

  it('the CLI accepts, shows, retries and schedules', async () => {
    const env = { KILN_URL: up!.url }
    const a = await kiln(['fn', 'invoke', 'slow', '--async', '--path', '/?key=cli&status=500'], env)
    expect(a.code, a.stderr).toBe(0)
    const id = a.stdout.trim()
    expect(id).toMatch(/^inv-/)
    const dead = await until('the always-failing invocation to die', async () => {
      const r = await kiln(['inv', 'get', id, '-o', 'json'], env)
      const x = JSON.parse(r.stdout)
      return x.status === 'dead' ? x : undefined
    }, 60_000, 200)
    expect(dead.attempts).toBe(3) // the default: 2 retries
    const retried = await kiln(['inv', 'retry', id], env)
    expect(retried.code, retried.stderr).toBe(0)
    const done = (await list(up!.url, 'function=slow&status=succeeded'))[0]!
    const refused = await kiln(['inv', 'retry', done.id], env)
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/only a dead or failed invocation is retried/)
    expect((await kiln(['inv', 'get', 'inv-00000000-0000-0000-0000-000000000000'], env)).code).toBe(1)
    expect((await kiln(['inv', 'list', '--status', 'odd'], env)).code).toBe(1)

    const add = await kiln(['cron', 'add', 'beat', '--function', 'slow', '--schedule', '@every 1s', '--concurrency', 'forbid', '--data', '{"key":"beat"}'], env)
    expect(add.code, add.stderr).toBe(0)
    await until('two cron runs', async () => (await calls('beat')) >= 2, 30_000, 200)
    const ls = await kiln(['cron', 'list'], env)
    expect(ls.code).toBe(0)
    expect(ls.stdout).toMatch(/^NAME\s+SCHEDULE\s+FUNCTION\s+CONCURRENCY\s+NEXT RUN\s+LAST RUN/m)
    expect(ls.stdout).toMatch(/^beat\s+@every 1s\s+slow\s+forbid\s+\S+\s+\d+s ago: (succeeded|running|queued|started)/m)
    const runs = await kiln(['inv', 'list', '--source', 'cron/beat', '-o', 'json'], env)
    expect(JSON.parse(runs.stdout).length).toBeGreaterThanOrEqual(2)
    const bad = await kiln(['cron', 'add', 'bad', '--function', 'slow', '--schedule', 'every minute'], env)
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/spec\.schedule/)
    expect((await kiln(['cron', 'delete', 'beat'], env)).code).toBe(0)
    expect((await kiln(['cron', 'delete', 'beat'], env)).code).toBe(1)
    expect((await kiln(['cron', 'list'], { KILN_URL: 'http://127.0.0.1:9' })).code).toBe(2)
  })
})

describe('redis-server killed for 60 s under kiln up --redis', () => {
  let own: TestRedis
  let dataDir: string
  let counterDir: string
  let up: UpProcess | undefined

  beforeAll(async () => {
    own = await startRedis()
    dataDir = await mkdtemp(join(tmpdir(), 'kiln-e2e-outage-'))
    // Instances run in sandboxes: the counter folder is mounted into them (kiln.yaml sandbox.mounts).
    const shared = await sharedDir('kiln-e2e-outage-counter-')
    counterDir = shared.dir
    await writeMountsConfig(dataDir, [shared.mount])
  })

  afterAll(async () => {
    await up?.stop()
    await own?.stop()
    await rm(dataDir, { recursive: true, force: true })
    await rm(counterDir, { recursive: true, force: true })
  })

  it('pauses, keeps every accepted invocation and the workflow in flight, shows the outage, and resumes', async () => {
    up = await kilnUp(dataDir, ['--redis', own.url, '--log-level', 'info'])
    const env = { KILN_URL: up.url }
    for (const [name, code, extra] of [['slow', COUNTER, ['--async-concurrency', '5']], ['counter', join(WF, 'counter.mjs'), []]] as const) {
      const d = await kiln(['fn', 'deploy', name, '--code', code, '--env', `COUNTER_DIR=${counterDir}`, '-q', ...extra], env)
      expect(d.code, d.stderr).toBe(0)
    }
    expect((await kiln(['wf', 'deploy', join(WF, 'slow.yaml')], env)).code).toBe(0)
    const wf = await kiln(['wf', 'run', 'slow', '--async', '--data', '{"run":"outage"}'], env)
    expect(wf.code, wf.stderr).toBe(0)
    const execution = wf.stdout.trim()

    const ids: string[] = []
    for (let i = 0; i < 50; i++) ids.push(await accept(up.url, 'slow?sleep=400'))
    await until('the workflow\'s second task to run and some invocations to succeed', async () =>
      (await readFile(join(counterDir, 'second-outage'), 'utf8').catch(() => '')).length >= 1 &&
      (await list(up!.url, 'function=slow&status=succeeded')).length >= 5, 60_000, 25)

    const killedAt = Date.now()
    await own.kill()
    const health = await until('/healthz to show the state store down', async () => {
      const h = JSON.parse((await get(`${up!.url}/healthz`)).text)
      return h.state?.up === false ? h : undefined
    }, 20_000)
    expect(health).toMatchObject({ ok: false, state: { store: 'redis', up: false } })
    expect((await get(`${up.url}/healthz`)).status).toBe(200) // liveness: restarting would not bring Redis back
    // Readiness says so without failing: the process stays in its load balancer for synchronous calls.
    const ready = await get(`${up.url}/readyz`)
    expect(ready.status).toBe(200)
    expect(JSON.parse(ready.text)).toMatchObject({ ready: true, advisory: { 'state-store': 'the state store (redis) is unreachable' } })
    expect((await get(`${up.url}/metrics`)).text).toMatch(/^kiln_state_store_up\{store="redis"\} 0$/m)
    const refused = await get(`${up.url}/async/fn/slow`, { method: 'POST', body: '' })
    expect(refused.status).toBe(503)
    expect(JSON.parse(refused.text).error).toBe('KILN_ERR_STATE_UNAVAILABLE')
    expect(refused.headers['retry-after']).toBe('5')
    const wfRefused = await get(`${up.url}/wf/slow`, { method: 'POST', body: '{"run":"refused"}', headers: { 'content-type': 'application/json' } })
    expect(wfRefused.status).toBe(503)
    expect(JSON.parse(wfRefused.text).error).toBe('KILN_ERR_STATE_UNAVAILABLE')
    // Synchronous calls need no state store.
    expect((await get(`${up.url}/fn/slow?key=sync-during-outage`, { method: 'POST', body: '' })).status).toBe(200)
    const warned = up.output().split('\n').find((l) => l.includes('state store unreachable'))
    expect(warned).toBeDefined()
    expect(JSON.parse(warned!).level).toBe(40)

    await new Promise((r) => setTimeout(r, Math.max(0, killedAt + 60_000 - Date.now())))
    await own.start()

    const done = await until('all 50 to succeed after the outage', async () => {
      const ok = await list(up!.url, 'function=slow&status=succeeded')
      return ok.length === 50 ? ok : undefined
    }, 90_000)
    expect(new Set(done.map((s) => s.id))).toEqual(new Set(ids))
    // Nothing was marked failed because Redis was away: no attempt was spent on the outage.
    for (const s of done) expect(s.attempts, s.id).toBe(1)
    const x = await until('the workflow execution to end', async () => {
      const e = JSON.parse((await get(`${up!.url}/v1/executions/${execution}`)).text)
      return e.status !== 'running' ? e : undefined
    }, 60_000)
    expect(x.status).toBe('succeeded')
    expect(x.output).toEqual({ first: 1, second: 1 })
    const back = await until('/healthz to show the state store up', async () => {
      const h = JSON.parse((await get(`${up!.url}/healthz`)).text)
      return h.state?.up ? h : undefined
    })
    expect(back.ok).toBe(true)
    expect(JSON.parse((await get(`${up.url}/readyz`)).text)).toMatchObject({ ready: true, advisory: { 'state-store': 'ok' } })
    expect((await get(`${up.url}/metrics`)).text).toMatch(/^kiln_state_store_up\{store="redis"\} 1$/m)
    const info = up.output().split('\n').find((l) => l.includes('state store is back'))
    expect(JSON.parse(info!).level).toBe(30)
    expect((await get(`${up.url}/async/fn/slow`, { method: 'POST', body: '' })).status).toBe(202)
  }, 360_000)
})
