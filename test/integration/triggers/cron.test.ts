// Cron triggers through a real platform (real runtime processes), state in SQLite and in a real
// redis-server: `@every 1s` runs counted, forbid and replace respected, next and last run shown, a
// missed run caught up at most once after a restart, and bad triggers refused naming the field.
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SqliteState } from '../../../core/state/sqlite.js'
import { eventsPrefix } from '../../../platform/state.js'
import { RedisCronStore } from '../../../triggers/cron/redis-store.js'
import { SqliteCronStore } from '../../../triggers/cron/sqlite-store.js'
import { startTestPlatform, type TestPlatform } from '../../helpers/platform.js'
import { sharedDir } from '../../helpers/shared-dir.js'
import type { SandboxMount } from '../../../core/config.js'
import { useRedis } from '../../helpers/redis.js'
import { until } from '../../helpers/until.js'

const COUNTER = join(import.meta.dirname, '../../fixtures/events/counter.mjs')
const redis = useRedis()
const JSON_HEADERS = { 'content-type': 'application/json' }

describe.each(['sqlite', 'redis'] as const)('cron triggers (%s state)', (store) => {
  let p: TestPlatform
  let dataDir: string
  let counterDir: string
  let mount: SandboxMount
  // Instances run in sandboxes: the counter folder is mounted into them (test/helpers/shared-dir.ts).
  const state = () => ({ ...(store === 'redis' ? { redisUrl: redis.current.url } : {}), sandbox: { mounts: [mount] } })
  const count = async (key: string) => (await readFile(join(counterDir, key), 'utf8').catch(() => '')).length
  const add = (name: string, spec: Record<string, unknown>) => p.call('/v1/crontriggers', { method: 'POST', body: JSON.stringify({ metadata: { name }, spec }), headers: JSON_HEADERS })
  const runs = async (name: string) => (await p.call(`/v1/invocations?source=cron/${name}&limit=1000`)).json() as { id: string; status: string }[]

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'kiln-cron-'))
    const shared = await sharedDir('kiln-cron-counter-')
    counterDir = shared.dir
    mount = shared.mount
    p = await startTestPlatform(state(), dataDir)
    await p.deploy('tick', COUNTER, { env: { COUNTER_DIR: counterDir } })
  })

  afterAll(async () => {
    await p?.stop()
    await rm(dataDir, { recursive: true, force: true })
    await rm(counterDir, { recursive: true, force: true })
  })

  it('@every 1s starts a run each second as an async invocation, with its data, and shows next and last run', async () => {
    const res = await add('every-second', { function: 'tick', schedule: '@every 1s', data: { hello: 'cron' } })
    expect(res.status).toBe(201)
    expect(Date.parse(res.json().status.nextRun)).toBeGreaterThan(Date.now() - 1000)
    await until('three runs of every-second', async () => (await runs('every-second')).filter((r) => r.status === 'succeeded').length >= 3, 20_000)
    const del = await p.call('/v1/crontriggers/every-second', { method: 'DELETE' })
    expect(del.status).toBe(200)
    const list = await runs('every-second')
    const n = list.length
    // Each run is an invocation of the function with the trigger's data; the function ran once per invocation.
    const first = (await p.call(`/v1/invocations/${list.at(-1)!.id}`)).json()
    expect(first).toMatchObject({ function: 'tick', source: 'cron/every-second', request: { method: 'POST', path: '/' } })
    const seen = JSON.parse(first.result.body)
    expect(seen).toMatchObject({ body: { hello: 'cron' }, cron: 'every-second' })
    await until('every started run to end', async () => (await runs('every-second')).every((r) => r.status === 'succeeded'))
    let calls = 0
    for (const r of await runs('every-second')) calls += await count(r.id)
    expect(calls).toBe((await runs('every-second')).length)
    // Deleted: no more runs (a run already accepted when it was deleted may still appear).
    await new Promise((r) => setTimeout(r, 2500))
    expect((await runs('every-second')).length).toBeLessThanOrEqual(n + 1)
    expect((await p.call('/v1/crontriggers/every-second')).json().error).toBe('KILN_ERR_CRON_NOT_FOUND')
  })

  it('forbid skips a slot while the previous run is still going: runs never overlap', async () => {
    expect((await add('forbid', { function: 'tick', schedule: '@every 1s', concurrency: 'forbid', data: { sleep: 2500 } })).status).toBe(201)
    const t = await until('a slot skipped by forbid', async () => {
      const v = (await p.call('/v1/crontriggers/forbid')).json()
      return v.status.lastRun?.outcome === 'skipped' ? v : undefined
    }, 20_000)
    expect(['queued', 'running']).toContain(t.status.lastRun.status)
    await until('a second run', async () => (await runs('forbid')).length >= 2, 20_000)
    await p.call('/v1/crontriggers/forbid', { method: 'DELETE' })
    await until('the runs to end', async () => (await runs('forbid')).every((r) => r.status === 'succeeded'))
    const spans = []
    for (const r of await runs('forbid')) {
      const x = (await p.call(`/v1/invocations/${r.id}`)).json()
      spans.push([Date.parse(x.startedAt), Date.parse(x.finishedAt)] as const)
    }
    spans.sort((a, b) => a[0] - b[0])
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1])
  })

  it('replace cancels the previous run when the next slot comes', async () => {
    expect((await add('replace', { function: 'tick', schedule: '@every 1s', concurrency: 'replace', data: { sleep: 3000 } })).status).toBe(201)
    const cancelled = await until('a run replaced by the next', async () => {
      for (const r of await runs('replace')) {
        if (r.status !== 'failed') continue
        const x = (await p.call(`/v1/invocations/${r.id}`)).json()
        if (x.error?.code === 'KILN_ERR_CANCELLED') return x
      }
      return undefined
    }, 20_000)
    expect(cancelled.error.message).toMatch(/replaced by the next run of cron trigger "replace"/)
    await p.call('/v1/crontriggers/replace', { method: 'DELETE' })
    await until('the runs to end', async () => (await runs('replace')).every((r) => r.status !== 'queued' && r.status !== 'running'), 20_000)
    // Only the newest run was never replaced.
    const list = await runs('replace')
    expect(list.filter((r) => r.status === 'succeeded').length).toBeLessThanOrEqual(1)
  })

  it('after a restart, a missed run is caught up once (not once per missed slot)', async () => {
    // Yearly, at 00:00 on January 1st. The stored progress says the last run was two years ago.
    expect((await add('yearly', { function: 'tick', schedule: '0 0 1 1 *', data: { key: `yearly-${store}` } })).status).toBe(201)
    await p.stop()
    const twoYearsAgo = Date.now() - 2 * 365 * 24 * 3_600_000
    const progress = { trigger: 'yearly', lastSlot: twoYearsAgo, lastRunAt: twoYearsAgo, lastOutcome: 'started' as const }
    if (store === 'sqlite') {
      const db = new SqliteState(join(dataDir, 'state.db'))
      await new SqliteCronStore(db).record(progress)
      db.close()
    } else {
      const r = new Redis(redis.current.url)
      await new RedisCronStore(r, eventsPrefix(dataDir)).record(progress)
      await r.quit()
    }
    p = await startTestPlatform(state(), dataDir)
    await until('the caught-up run', async () => (await count(`yearly-${store}`)) >= 1, 30_000)
    await new Promise((r) => setTimeout(r, 2000))
    expect(await count(`yearly-${store}`)).toBe(1)
    expect((await runs('yearly')).length).toBe(1)
    const t = (await p.call('/v1/crontriggers/yearly')).json()
    expect(t.status.lastRun).toMatchObject({ outcome: 'started', invocation: (await runs('yearly'))[0]!.id })
    expect(new Date(t.status.nextRun).getUTCMonth()).toBe(0)
    expect(Date.parse(t.status.nextRun)).toBeGreaterThan(Date.now())
    await p.call('/v1/crontriggers/yearly', { method: 'DELETE' })
  })

  it('refuses a bad schedule, a bad time zone, an unknown function and an unknown field, naming the field', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ function: 'tick', schedule: '61 * * * *' }, /spec\.schedule/],
      [{ function: 'tick', schedule: '* * * * *', timezone: 'Europe/Seoul' }, /spec\.timezone/],
      [{ function: 'nope', schedule: '* * * * *' }, /spec\.function: no function "nope"/],
      [{ function: 'tick', schedule: '* * * * *', concurrency: 'sometimes' }, /spec\.concurrency/],
      [{ function: 'tick', schedule: '* * * * *', every: 1 }, /spec\.every: unknown field/],
    ]
    for (const [spec, message] of cases) {
      const res = await add('bad', spec)
      expect(res.status, JSON.stringify(spec)).toBe(400)
      expect(res.json().error).toBe('KILN_ERR_VALIDATION')
      expect(res.json().message).toMatch(message)
    }
    expect((await add('ok-tz', { function: 'tick', schedule: '0 9 * * *', timezone: 'Asia/Seoul' })).status).toBe(201)
    const dup = await add('ok-tz', { function: 'tick', schedule: '0 9 * * *' })
    expect(dup.status).toBe(409)
    const t = (await p.call('/v1/crontriggers/ok-tz')).json()
    // 09:00 in Seoul is 00:00 UTC.
    expect(new Date(t.status.nextRun).getUTCHours()).toBe(0)
    expect(t.status.lastRun).toBeUndefined()
    await p.call('/v1/crontriggers/ok-tz', { method: 'DELETE' })
  })
})
