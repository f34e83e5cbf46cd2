// Releases on the embedded platform with real runtime processes: numbered immutable versions, rollback,
// aliases and `@N` addressing (on /fn, user routes and the platform's invoker), weighted and sticky
// splits, and progressive canaries that roll back on their own or reach 100%.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildPackage } from '../../../runtimes/builder/index.js'
import { PlatformInvoker } from '../../../triggers/platform-invoker.js'
import { startTestPlatform, type TestPlatform } from '../../helpers/platform.js'
import { until } from '../../helpers/until.js'

const FIXTURE = join(import.meta.dirname, '..', '..', 'fixtures', 'releases', 'release.mjs')
const JSON_HEADERS = { 'content-type': 'application/json' }

describe('releases', () => {
  let p: TestPlatform
  let pkg: { sha256: string; entrypoint: string }

  beforeAll(async () => {
    p = await startTestPlatform({ poolSize: 2, instanceBudget: 40, versionRetention: 3 })
    const built = await buildPackage({ source: FIXTURE, runtime: 'node' })
    const up = await p.call('/v1/packages', { method: 'POST', body: built.archive, headers: { 'content-type': 'application/gzip' } })
    expect(up.status).toBe(201)
    pkg = { sha256: built.sha256, entrypoint: built.entrypoint }
  })
  afterAll(async () => { await p?.stop() })

  /** Deploys the fixture as `name`, answering with $VERSION = `version`; `promote: false` records it without traffic. */
  async function deploy(name: string, version: string, o: { env?: Record<string, string>; spec?: Record<string, unknown>; promote?: boolean } = {}) {
    const body = { metadata: { name }, spec: { runtime: 'node', package: { sha256: pkg.sha256 }, entrypoint: pkg.entrypoint, env: { VERSION: version, ...o.env }, ...o.spec } }
    const res = await p.call(`/v1/functions/${name}${o.promote === false ? '?promote=false' : ''}`, { method: 'PUT', body: JSON.stringify(body), headers: JSON_HEADERS })
    expect(res.status, res.text).toBeLessThan(300)
    return res.json()
  }
  const api = async (method: string, path: string, body?: unknown) => {
    const r = await p.call(`/v1${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: JSON_HEADERS }) })
    return { status: r.status, body: r.text ? r.json() : undefined }
  }
  const versionOf = async (path: string, headers?: Record<string, string>) => {
    const r = await p.call(path, { headers })
    expect(r.status, r.text).toBe(200)
    return r.json().version as string
  }
  const status = async (name: string) => (await api('GET', `/functions/${name}`)).body.status

  it('deploys v1, v2 and v3 as numbered versions with who, when and what changed; a redeploy of the same spec makes none', async () => {
    await deploy('rel', '1', { spec: { strategy: 'warm', minWarm: 1 } })
    await deploy('rel', '2', { spec: { strategy: 'warm', minWarm: 1 } })
    const third = await deploy('rel', '3', { spec: { strategy: 'warm', minWarm: 1, timeoutMs: 20_000 } })
    expect(third.status.latestVersion).toBe(3)
    expect(third.status.traffic).toEqual([{ version: 3, weight: 100 }])
    // The same spec again (as a re-applied file would be): no version, no traffic change.
    const again = await deploy('rel', '3', { spec: { strategy: 'warm', minWarm: 1, timeoutMs: 20_000 } })
    expect(again.status.latestVersion).toBe(3)

    const list = (await api('GET', '/functions/rel/versions')).body
    expect(list.map((v: any) => v.spec.version)).toEqual([1, 2, 3])
    const me = (await api('GET', '/whoami')).body
    for (const v of list) {
      expect(v.spec.function).toBe('rel')
      expect(v.spec.spec.package.sha256).toBe(pkg.sha256)
      expect(v.spec.createdBy.id).toBe(me.id)
      expect(Date.parse(v.metadata.createdAt)).toBeGreaterThan(Date.now() - 600_000)
    }
    expect(list[0].spec.changed).toEqual([])
    expect(list[1].spec.changed).toEqual(['env'])
    expect(list[2].spec.changed.sort()).toEqual(['env', 'timeoutMs'])
    expect(list.map((v: any) => v.status.weight)).toEqual([0, 0, 100])
    expect((await api('GET', '/functions/rel/versions/2')).body.spec.spec.env).toEqual({ VERSION: '2' })
    expect((await api('GET', '/functions/rel/versions/9')).body.error).toBe('KILN_ERR_VERSION_NOT_FOUND')
    expect(await versionOf('/fn/rel')).toBe('3')
  })

  it('rollback: the previous version serves every request once the command returns, its warm instance ready', async () => {
    const r = await api('POST', '/functions/rel/rollback', {})
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({ from: 3, to: 2 })
    const s = await status('rel')
    const v2 = s.versions.find((v: any) => v.version === 2)
    expect(v2.ready).toBeGreaterThanOrEqual(1)
    expect(v2.weight).toBe(100)
    for (let i = 0; i < 20; i++) expect(await versionOf('/fn/rel')).toBe('2')
    // Served by the warm instance made before the rollback answered: no request waited for a load.
    expect((await status('rel')).versions.find((v: any) => v.version === 2).coldStarts).toBe(0)
    // --to names any version, newer ones too.
    expect((await api('POST', '/functions/rel/rollback', { to: 3 })).body).toMatchObject({ from: 2, to: 3 })
    expect(await versionOf('/fn/rel')).toBe('3')
    expect((await api('POST', '/functions/rel/rollback', { to: 7 })).body.error).toBe('KILN_ERR_VERSION_NOT_FOUND')
    // The old version drains and leaves.
    await until('version 2 to drain', async () => !(await status('rel')).versions.some((v: any) => v.version === 2 && v.instances > 0))
  })

  it('aliases and @N reach a version directly, on /fn, on user routes and through the platform\'s invoker', async () => {
    expect((await api('PUT', '/functions/rel/aliases/prod', { targets: [{ version: 1, weight: 100 }] })).status).toBe(200)
    expect(await versionOf('/fn/rel@prod')).toBe('1')
    expect(await versionOf('/fn/rel@2')).toBe('2')
    expect(await versionOf('/fn/rel')).toBe('3')
    expect(await versionOf('/fn/rel%40prod/sub?x=1')).toBe('1')
    const bad = async (path: string, status: number, code: string) => {
      const r = await p.call(path)
      expect(r.status, path).toBe(status)
      expect(r.json().error, path).toBe(code)
    }
    await bad('/fn/rel@9', 404, 'KILN_ERR_VERSION_NOT_FOUND')
    await bad('/fn/rel@beta', 404, 'KILN_ERR_ALIAS_NOT_FOUND')
    await bad('/fn/rel@', 400, 'KILN_ERR_BAD_REQUEST')
    await bad('/fn/rel@Prod', 400, 'KILN_ERR_BAD_REQUEST')
    expect((await api('PUT', '/functions/rel/aliases/42', { targets: [{ version: 1, weight: 100 }] })).body.error).toBe('KILN_ERR_VALIDATION')
    expect((await api('PUT', '/functions/rel/aliases/beta', { targets: [{ version: 8, weight: 100 }] })).body.error).toBe('KILN_ERR_VERSION_NOT_FOUND')

    // Routes to an alias and to a version.
    const route = async (path: string, spec: Record<string, unknown>) => api('POST', '/triggers', { spec: { method: 'GET', path, function: 'rel', ...spec } })
    expect((await route('/rel-prod', { alias: 'prod' })).status).toBe(201)
    expect((await route('/rel-two', { version: 2 })).status).toBe(201)
    expect((await route('/rel-nine', { version: 9 })).body.error).toBe('KILN_ERR_VALIDATION')
    expect((await route('/rel-beta', { alias: 'beta' })).body.error).toBe('KILN_ERR_VALIDATION')
    expect(await versionOf('/rel-prod')).toBe('1')
    expect(await versionOf('/rel-two')).toBe('2')
    // An alias a route uses is not deleted under it.
    expect((await api('DELETE', '/functions/rel/aliases/prod')).body.error).toBe('KILN_ERR_IN_USE')

    // The invoker (workflows, cron, queues, async) calls `NAME@ALIAS` and `NAME@N` like any ref.
    const invoker = new PlatformInvoker()
    invoker.setOrigin(p.url)
    try {
      for (const [target, want] of [['rel@prod', '1'], ['rel@2', '2'], ['rel', '3']]) {
        const r = await invoker.invoke(target, { method: 'GET', path: '/', headers: {} })
        expect(r.status).toBe(200)
        expect(JSON.parse(r.body.toString()).version).toBe(want)
      }
    } finally {
      await invoker.close()
    }

    // The alias moves; the route follows it.
    await api('PUT', '/functions/rel/aliases/prod', { targets: [{ version: 3, weight: 100 }] })
    expect(await versionOf('/rel-prod')).toBe('3')
    expect((await api('GET', '/functions/rel/traffic')).body.spec.aliases).toEqual({ prod: { targets: [{ version: 3, weight: 100 }] } })
  })

  it('retention keeps the newest versions and every version an alias, a split or a route uses', async () => {
    // versionRetention is 3 here: v1 is kept by nothing (prod moved to 3), v2 by the route /rel-two.
    await deploy('rel', '4', { spec: { strategy: 'warm', minWarm: 1, timeoutMs: 20_000 } })
    expect((await api('GET', '/functions/rel/versions')).body.map((v: any) => v.spec.version)).toEqual([2, 3, 4])
    await deploy('rel', '5', { spec: { strategy: 'warm', minWarm: 1, timeoutMs: 20_000 } })
    // 3 is still prod's: kept; 2 still the route's.
    expect((await api('GET', '/functions/rel/versions')).body.map((v: any) => v.spec.version)).toEqual([2, 3, 4, 5])
    expect(await versionOf('/fn/rel')).toBe('5')
    expect((await p.call('/fn/rel@1')).status).toBe(404)
  })

  it('a 90/10 split sends about a tenth of 1,000 requests to the second version', async () => {
    await deploy('split', 'a', { spec: { strategy: 'warm', minWarm: 2 } })
    await deploy('split', 'b', { spec: { strategy: 'warm', minWarm: 2 } })
    const r = await api('PUT', '/functions/split/traffic', { targets: [{ version: 1, weight: 90 }, { version: 2, weight: 10 }] })
    expect(r.status).toBe(200)
    // Both versions are warm when the split answers: 90% of minWarm 2 keeps 2, 10% keeps 1.
    const s = await status('split')
    expect(s.versions.find((v: any) => v.version === 1).ready).toBeGreaterThanOrEqual(2)
    expect(s.versions.find((v: any) => v.version === 2).ready).toBeGreaterThanOrEqual(1)
    const counts: Record<string, number> = {}
    const one = async () => { const v = await versionOf('/fn/split'); counts[v] = (counts[v] ?? 0) + 1 }
    for (let i = 0; i < 100; i++) await Promise.all(Array.from({ length: 10 }, one))
    expect(counts.a + counts.b).toBe(1000)
    expect(Math.abs(counts.b - 100)).toBeLessThanOrEqual(30)
    // Weights must add up to 100 and name versions that exist.
    expect((await api('PUT', '/functions/split/traffic', { targets: [{ version: 1, weight: 90 }, { version: 2, weight: 20 }] })).body.error).toBe('KILN_ERR_VALIDATION')
    expect((await api('PUT', '/functions/split/traffic', { targets: [{ version: 1, weight: 50 }, { version: 7, weight: 50 }] })).body.error).toBe('KILN_ERR_VERSION_NOT_FOUND')
  })

  it('sticky splits keep each caller on one version, by header and by cookie', async () => {
    await api('PUT', '/functions/split/traffic', { targets: [{ version: 1, weight: 50 }, { version: 2, weight: 50 }], stickyHeader: 'X-User' })
    const seen = new Map<string, Set<string>>()
    for (let u = 0; u < 24; u++) {
      for (let i = 0; i < 8; i++) {
        const user = `user-${u}`
        const v = await versionOf('/fn/split', { 'x-user': user })
        if (!seen.has(user)) seen.set(user, new Set())
        seen.get(user)!.add(v)
      }
    }
    for (const [user, versions] of seen) expect(versions.size, user).toBe(1)
    const per = [...seen.values()].map((s) => [...s][0])
    expect(new Set(per)).toEqual(new Set(['a', 'b']))
    // Without the header, requests are split per request.
    const anon = new Set<string>()
    for (let i = 0; i < 20; i++) anon.add(await versionOf('/fn/split'))
    expect(anon).toEqual(new Set(['a', 'b']))

    await api('PUT', '/functions/split/traffic', { targets: [{ version: 1, weight: 50 }, { version: 2, weight: 50 }], stickyCookie: 'session' })
    const byCookie = new Map<string, Set<string>>()
    for (let u = 0; u < 24; u++) {
      for (let i = 0; i < 6; i++) {
        const v = await versionOf('/fn/split', { cookie: `theme=dark; session=s${u}; lang=en` })
        if (!byCookie.has(`s${u}`)) byCookie.set(`s${u}`, new Set())
        byCookie.get(`s${u}`)!.add(v)
      }
    }
    for (const [s, versions] of byCookie) expect(versions.size, s).toBe(1)
    expect(new Set([...byCookie.values()].map((s) => [...s][0]))).toEqual(new Set(['a', 'b']))
  })

  /** Requests to /fn/NAME from `n` loops until stopped; what each got. */
  function load(name: string, n = 4) {
    let stop = false
    const answers: { status: number; version?: string }[] = []
    const loops = Array.from({ length: n }, async () => {
      while (!stop) {
        const r = await p.call(`/fn/${name}`)
        answers.push({ status: r.status, version: r.status === 200 ? r.json().version : undefined })
      }
    })
    return { answers, async stop() { stop = true; await Promise.all(loops) } }
  }

  it('a canary to a version failing 30% of its requests rolls back on its own, with an event naming the bound', async () => {
    await deploy('can', 'good', { spec: { strategy: 'warm', minWarm: 1 } })
    await deploy('can', 'bad', { spec: { strategy: 'warm', minWarm: 1 }, env: { FAIL_PERCENT: '30' }, promote: false })
    // --no-promote: the new version is recorded, the old one still serves.
    expect((await status('can')).traffic).toEqual([{ version: 1, weight: 100 }])
    expect(await versionOf('/fn/can')).toBe('good')
    const traffic = load('can')
    try {
      const started = await api('POST', '/functions/can/canary', { to: 2, step: 10, intervalMs: 2000, maxErrorRate: 0.01 })
      expect(started.status).toBe(201)
      expect(started.body).toMatchObject({ from: 1, to: 2, state: 'running', weight: 10 })
      // A second canary, or a split, while one runs: refused.
      expect((await api('POST', '/functions/can/canary', { to: 2 })).body.error).toBe('KILN_ERR_CANARY_RUNNING')
      expect((await api('PUT', '/functions/can/traffic', { targets: [{ version: 2, weight: 100 }] })).body.error).toBe('KILN_ERR_CANARY_RUNNING')
      const ended = await until('the canary to roll back', async () => {
        const c = (await api('GET', '/functions/can/canary')).body
        return c.state !== 'running' ? c : undefined
      }, 60_000, 200)
      expect(ended.state).toBe('rolledBack')
      expect(ended.weight).toBe(0)
      expect(ended.lastEvaluation.errors).toBeGreaterThan(0)
    } finally {
      await traffic.stop()
    }
    const events = (await api('GET', '/events?type=CanaryRolledBack&function=can')).body
    expect(events).toHaveLength(1)
    expect(events[0].evidence).toMatchObject({ bound: 'maxErrorRate', limit: 0.01, from: 1, to: 2 })
    expect(events[0].evidence.measured).toBeGreaterThan(0.15)
    expect(events[0].evidence.measured).toBeLessThan(0.45)
    expect((await api('GET', '/events?type=CanaryStarted&function=can')).body).toHaveLength(1)
    expect((await status('can')).traffic).toEqual([{ version: 1, weight: 100 }])
    for (let i = 0; i < 10; i++) expect(await versionOf('/fn/can')).toBe('good')
    // Only the canary version's own failures reached callers.
    expect(traffic.answers.filter((a) => a.status !== 200 && a.status !== 500)).toEqual([])
    expect(traffic.answers.filter((a) => a.status === 200 && a.version === 'bad')).not.toEqual([])
  })

  it('a canary to a healthy version reaches 100% with no failed request and no cold start, and a re-applied spec does not reset it', async () => {
    await deploy('can', 'next', { spec: { strategy: 'warm', minWarm: 1 }, promote: false })
    const traffic = load('can')
    try {
      const started = await api('POST', '/functions/can/canary', { to: 3, step: 30, intervalMs: 1000, maxErrorRate: 0.01, maxP99Ms: 2000, minRequests: 5 })
      expect(started.body).toMatchObject({ from: 1, to: 3, weight: 30 })
      // Re-applying the function as stored (what `kiln apply` of an unchanged file does) changes nothing.
      await deploy('can', 'next', { spec: { strategy: 'warm', minWarm: 1 }, promote: false })
      await deploy('can', 'next', { spec: { strategy: 'warm', minWarm: 1 } })
      expect((await api('GET', '/functions/can/canary')).body.state).toBe('running')
      const ended = await until('the canary to finish', async () => {
        const c = (await api('GET', '/functions/can/canary')).body
        return c.state !== 'running' ? c : undefined
      }, 60_000, 200)
      expect(ended).toMatchObject({ state: 'promoted', weight: 100 })
      await until('traffic to settle', async () => (await status('can')).traffic.length === 1)
      await new Promise((r) => setTimeout(r, 300))
    } finally {
      await traffic.stop()
    }
    expect(traffic.answers.length).toBeGreaterThan(50)
    expect(traffic.answers.filter((a) => a.status !== 200)).toEqual([])
    expect(traffic.answers.some((a) => a.version === 'next')).toBe(true)
    const s = await status('can')
    expect(s.traffic).toEqual([{ version: 3, weight: 100 }])
    expect(s.versions.find((v: any) => v.version === 3).coldStarts).toBe(0)
    const promoted = (await api('GET', '/events?type=CanaryPromoted&function=can')).body
    expect(promoted).toHaveLength(1)
    expect(promoted[0].evidence).toMatchObject({ from: 1, to: 3 })
    for (let i = 0; i < 5; i++) expect(await versionOf('/fn/can')).toBe('next')
  })

  it('a canary can be aborted by hand, and a deleted function takes its versions and traffic with it', async () => {
    await deploy('can', 'fourth', { spec: { strategy: 'warm', minWarm: 1 }, promote: false })
    expect((await api('POST', '/functions/can/canary', { to: 4, step: 10, intervalMs: 60_000 })).status).toBe(201)
    const aborted = await api('DELETE', '/functions/can/canary')
    expect(aborted.body).toMatchObject({ state: 'aborted', from: 3 })
    expect((await status('can')).traffic).toEqual([{ version: 3, weight: 100 }])
    expect((await api('DELETE', '/functions/can/canary')).body.error).toBe('KILN_ERR_CANARY_NOT_FOUND')

    expect((await api('DELETE', '/functions/can')).status).toBe(200)
    expect(p.ctx.versions.list().filter((v) => v.spec.function === 'can')).toEqual([])
    expect(p.ctx.traffic.get('can')).toBeUndefined()
    // Made again under the same name, it starts at version 1.
    const again = await deploy('can', 'new')
    expect(again.status.latestVersion).toBe(1)
  })

  it('a function changed around a deploy (written to its store directly) gets a version of its own, which serves', async () => {
    const before = (await api('GET', '/functions/split')).body
    await p.ctx.functions.put({ metadata: { name: 'split', namespace: 'default' }, spec: { ...before.spec, env: { VERSION: 'direct' } } })
    await until('the direct change to serve', async () => (await p.call('/fn/split')).json().version === 'direct')
    const list = (await api('GET', '/functions/split/versions')).body
    expect(list[list.length - 1].spec).toMatchObject({ version: 3, createdBy: { id: 'kiln' }, note: 'changed outside a deploy', changed: ['env'] })
  })
})

describe('releases of a data dir from before versions', () => {
  it('every function stored without versions gets version 1 at start, serving as before', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-legacy-'))
    try {
      const first = await startTestPlatform({ poolSize: 1 }, dir)
      try {
        await first.deploy('old', FIXTURE, { env: { VERSION: 'kept' } })
        expect((await first.call('/fn/old')).json().version).toBe('kept')
      } finally {
        await first.stop()
      }
      // What a data dir written before versions holds: the function alone.
      await rm(join(dir, 'resources', 'functionversion'), { recursive: true, force: true })
      await rm(join(dir, 'resources', 'functiontraffic'), { recursive: true, force: true })
      const again = await startTestPlatform({ poolSize: 1 }, dir)
      try {
        expect((await again.call('/fn/old')).json().version).toBe('kept')
        const list = (await again.call('/v1/functions/old/versions')).json()
        expect(list.map((v: any) => [v.spec.version, v.spec.createdBy.id, v.status.weight])).toEqual([[1, 'kiln', 100]])
      } finally {
        await again.stop()
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
