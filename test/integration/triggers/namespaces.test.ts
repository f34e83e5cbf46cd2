// Async invocations and cron triggers as citizens of tenancy, through a real platform (real runtime
// processes): a cron trigger in team-a calls team-a's function (not default's of the same name), lives
// in team-a's folder of the data dir and goes with `kiln ns delete --cascade`; an async call of a
// private function in team-a needs the token its synchronous call needs, checked before anything is
// stored, and the Authorization header is neither stored nor given to the function; invocations are
// seen, retried and cancelled only within the namespaces a token covers; the CLI's -n and -A.
import { access, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { kiln } from '../../helpers/cli.js'
import { startTestPlatform, type TestPlatform } from '../../helpers/platform.js'
import { sharedDir } from '../../helpers/shared-dir.js'
import { as, createNamespace, tokenFor } from '../../helpers/tenancy.js'
import { until } from '../../helpers/until.js'

const COUNTER = join(import.meta.dirname, '../../fixtures/events/counter.mjs')
const JSON_HEADERS = { 'content-type': 'application/json' }

interface Summary { id: string; function: string; namespace: string; status: string; source: string }

describe('async invocations and cron triggers in namespaces', () => {
  let p: TestPlatform
  let dirA: string
  let dirDefault: string
  const tokens: Record<string, string> = {}
  const count = async (dir: string, key: string) => (await readFile(join(dir, key), 'utf8').catch(() => '')).length
  const inv = async (id: string, ns = 'team-a') => (await p.call(`/v1/invocations/${id}?namespace=${ns}`)).json()
  const ended = (id: string, ns = 'team-a') => until(`invocation ${id} to end`, async () => {
    const x = await inv(id, ns)
    return ['succeeded', 'failed', 'dead'].includes(x.status) ? x : undefined
  }, 30_000)

  beforeAll(async () => {
    // Instances run in sandboxes: the counter folders are mounted into them (test/helpers/shared-dir.ts).
    const a = await sharedDir('kiln-ns-events-a-')
    const d = await sharedDir('kiln-ns-events-default-')
    dirA = a.dir
    dirDefault = d.dir
    p = await startTestPlatform({ poolSize: 1, sandbox: { mounts: [a.mount, d.mount] } })
    await createNamespace(p, 'team-a')
    await createNamespace(p, 'team-b')
    // Two functions named `tick`: default's and team-a's count in different folders.
    await p.deploy('tick', COUNTER, { env: { COUNTER_DIR: dirDefault } })
    await p.deploy('tick', COUNTER, { env: { COUNTER_DIR: dirA } }, 'team-a')
    await p.deploy('vault', COUNTER, { env: { COUNTER_DIR: dirA }, private: true, async: { retries: 0 } }, 'team-a')
    for (const [name, role, ns] of [['invokerA', 'invoker', 'team-a'], ['invokerB', 'invoker', 'team-b'], ['viewerA', 'viewer', 'team-a'], ['viewerB', 'viewer', 'team-b'], ['devB', 'developer', 'team-b']] as const) {
      tokens[name] = await tokenFor(p, role, [ns])
    }
  }, 120_000)

  afterAll(async () => {
    await p?.stop()
    await rm(dirA, { recursive: true, force: true })
    await rm(dirDefault, { recursive: true, force: true })
  })

  it('a cron trigger in team-a calls team-a\'s function, is stored in team-a\'s folder, and a trigger of the same name in default is another', async () => {
    const add = (ns: string, name: string, spec: Record<string, unknown>) =>
      p.call(`/v1/crontriggers?namespace=${ns}`, { method: 'POST', body: JSON.stringify({ metadata: { name }, spec }), headers: JSON_HEADERS })
    const a = await add('team-a', 'beat', { function: 'tick', schedule: '@every 1s', concurrency: 'forbid' })
    expect(a.status).toBe(201)
    expect(a.json().metadata).toMatchObject({ name: 'beat', namespace: 'team-a' })
    // default has its own `beat` (a paused-looking schedule: once a year), independent of team-a's.
    expect((await add('default', 'beat', { function: 'tick', schedule: '0 0 1 1 *' })).status).toBe(201)
    await access(join(p.dataDir, 'resources', 'crontrigger', 'team-a', 'beat.json'))
    await access(join(p.dataDir, 'resources', 'crontrigger', 'beat.json'))

    const runs = await until('two runs of team-a\'s beat to succeed', async () => {
      const list = (await p.call('/v1/invocations?namespace=team-a&source=cron/beat')).json() as Summary[]
      return list.filter((r) => r.status === 'succeeded').length >= 2 ? list : undefined
    }, 30_000)
    for (const r of runs) expect(r).toMatchObject({ function: 'tick', namespace: 'team-a', source: 'cron/beat' })
    const done = runs.filter((r) => r.status === 'succeeded')
    // team-a's `tick` ran them (its counter folder); default's never did.
    for (const r of done) {
      expect(await count(dirA, r.id), r.id).toBe(1)
      expect(await count(dirDefault, r.id), r.id).toBe(0)
    }
    // Not in default's list: invocations belong to their function's namespace.
    const inDefault = (await p.call('/v1/invocations?source=cron/beat')).json() as Summary[]
    expect(inDefault.filter((r) => runs.some((x) => x.id === r.id))).toEqual([])
    const got = (await p.call('/v1/crontriggers/beat?namespace=team-a')).json()
    expect(got.status.lastRun).toMatchObject({ outcome: expect.stringMatching(/started|skipped/) })
    expect((await p.call('/v1/crontriggers/beat?namespace=team-a', { method: 'DELETE' })).json()).toEqual({ deleted: 'beat', namespace: 'team-a' })
    // default's trigger is untouched by the delete in team-a.
    expect((await p.call('/v1/crontriggers/beat')).status).toBe(200)
    expect((await p.call('/v1/crontriggers/beat', { method: 'DELETE' })).status).toBe(200)
  })

  it('a cron trigger names a function of its own namespace only', async () => {
    await p.deploy('only-default', COUNTER, { env: { COUNTER_DIR: dirDefault } })
    const r = await p.call('/v1/crontriggers?namespace=team-a', { method: 'POST', body: JSON.stringify({ metadata: { name: 'x' }, spec: { function: 'only-default', schedule: '@every 1m' } }), headers: JSON_HEADERS })
    expect(r.status).toBe(400)
    expect(r.json().error).toBe('KILN_ERR_VALIDATION')
    const other = await p.call('/v1/crontriggers?namespace=team-a', { method: 'POST', body: JSON.stringify({ metadata: { name: 'x', namespace: 'team-b' }, spec: { function: 'tick', schedule: '@every 1m' } }), headers: JSON_HEADERS })
    expect(other.status).toBe(400)
    expect(other.json().error).toBe('KILN_ERR_VALIDATION')
  })

  it('a cron trigger calls a private function of its namespace (with the platform\'s token, which the function never sees)', async () => {
    const put = await p.call('/v1/crontriggers/vault-beat?namespace=team-a', { method: 'PUT', body: JSON.stringify({ spec: { function: 'vault', schedule: '@every 1s' } }), headers: JSON_HEADERS })
    expect(put.status).toBe(201)
    const run = await until('a run of vault-beat to succeed', async () => {
      const list = (await p.call('/v1/invocations?namespace=team-a&source=cron/vault-beat')).json() as Summary[]
      return list.find((r) => r.status === 'succeeded')
    }, 30_000)
    const x = await inv(run.id)
    expect(x).toMatchObject({ function: 'vault', namespace: 'team-a', status: 'succeeded' })
    expect(JSON.parse(x.result.body).authorization).toBeNull()
    expect((await p.call('/v1/crontriggers/vault-beat?namespace=team-a', { method: 'DELETE' })).status).toBe(200)
  })

  it('an async call of a private function in team-a needs a token that may call it there; nothing is stored without one', async () => {
    const call = (path: string, token?: string, headers: Record<string, string> = {}) =>
      p.call(path, { method: 'POST', body: '{"key":"vault-async"}', headers: { ...JSON_HEADERS, ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } })
    const before = (await p.call('/v1/invocations?namespace=team-a&function=vault')).json() as Summary[]

    const none = await call('/ns/team-a/async/fn/vault')
    expect([none.status, none.json().error]).toEqual([401, 'KILN_ERR_UNAUTHENTICATED'])
    const otherNs = await call('/ns/team-a/async/fn/vault', tokens.invokerB)
    expect([otherNs.status, otherNs.json().error]).toEqual([403, 'KILN_ERR_FORBIDDEN'])
    const viewer = await call('/ns/team-a/async/fn/vault', tokens.viewerA)
    expect([viewer.status, viewer.json().error]).toEqual([403, 'KILN_ERR_FORBIDDEN'])
    const preferNone = await call('/ns/team-a/fn/vault', undefined, { prefer: 'respond-async' })
    expect([preferNone.status, preferNone.json().error]).toEqual([401, 'KILN_ERR_UNAUTHENTICATED'])
    expect((await p.call('/v1/invocations?namespace=team-a&function=vault')).json()).toEqual(before)

    const ok = await call('/ns/team-a/async/fn/vault', tokens.invokerA)
    expect(ok.status).toBe(202)
    const { id } = ok.json()
    expect(ok.json()).toEqual({ id, function: 'vault', namespace: 'team-a', status: 'queued' })
    expect(ok.headers.location).toBe(`/v1/invocations/${id}?namespace=team-a`)
    const preferred = await call('/ns/team-a/fn/vault', tokens.invokerA, { prefer: 'respond-async' })
    expect([preferred.status, preferred.headers['preference-applied']]).toEqual([202, 'respond-async'])

    for (const x of [await ended(id), await ended(preferred.json().id)]) {
      expect(x).toMatchObject({ function: 'vault', namespace: 'team-a', status: 'succeeded' })
      // Never stored, never given to the function (the dispatcher called it with the platform's token, which the data plane drops).
      expect(Object.keys(x.request.headers).map((h) => h.toLowerCase())).not.toContain('authorization')
      expect(JSON.parse(x.result.body).authorization).toBeNull()
    }
    expect(await count(dirA, 'vault-async')).toBe(2)
  })

  it('a public function\'s async call does not store or forward the caller\'s Authorization either', async () => {
    const r = await p.call('/ns/team-a/async/fn/tick?key=public-auth', { method: 'POST', body: '', headers: { authorization: 'Bearer kiln_caller_secret' } })
    expect(r.status).toBe(202)
    const x = await ended(r.json().id)
    expect(x.status).toBe('succeeded')
    expect(JSON.stringify(x.request.headers)).not.toContain('kiln_caller_secret')
    expect(JSON.parse(x.result.body).authorization).toBeNull()
  })

  it('a viewer of team-b cannot see team-a\'s invocations; a developer of team-b cannot retry or cancel them', async () => {
    const r = await p.call('/ns/team-a/async/fn/tick?key=seen&status=500', { method: 'POST', body: '' })
    const id = r.json().id as string
    expect((await ended(id)).status).toBe('dead')

    const b = (method: string, path: string, token = tokens.viewerB) => as(p, token, method, path)
    const get = await b('GET', `/v1/invocations/${id}`)
    expect([get.status, get.json().error]).toEqual([404, 'KILN_ERR_INVOCATION_NOT_FOUND'])
    const asked = await b('GET', `/v1/invocations/${id}?namespace=team-a`)
    expect([asked.status, asked.json().error]).toEqual([403, 'KILN_ERR_FORBIDDEN'])
    expect((await b('GET', '/v1/invocations?namespace=team-a')).status).toBe(403)
    for (const path of ['/v1/invocations', '/v1/invocations?namespace=*', '/v1/invocations?namespace=*&function=tick']) {
      const list = await b('GET', path)
      expect(list.status, path).toBe(200)
      expect((list.json() as Summary[]).filter((s) => s.namespace !== 'team-b'), path).toEqual([])
    }
    for (const verb of ['retry', 'cancel']) {
      const w = await b('POST', `/v1/invocations/${id}/${verb}`, tokens.devB)
      expect([verb, w.status, w.json().error]).toEqual([verb, 404, 'KILN_ERR_INVOCATION_NOT_FOUND'])
    }
    expect((await inv(id)).status).toBe('dead')

    // team-a's viewer reads it (and lists it), but may not retry it.
    const mine = await as(p, tokens.viewerA, 'GET', `/v1/invocations/${id}`)
    expect([mine.status, mine.json().namespace]).toEqual([200, 'team-a'])
    expect((await as(p, tokens.viewerA, 'GET', '/v1/invocations?function=tick')).json().map((s: Summary) => s.id)).toContain(id)
    expect((await as(p, tokens.viewerA, 'POST', `/v1/invocations/${id}/retry`)).status).toBe(403)
    // An admin across namespaces: by function name in every namespace.
    const everywhere = (await p.call('/v1/invocations?namespace=*&function=tick&limit=1000')).json() as Summary[]
    expect(everywhere.map((s) => s.id)).toContain(id)
    expect(new Set(everywhere.map((s) => s.function))).toEqual(new Set(['tick']))
  })

  it('the CLI: fn invoke --async and cron add with -n, inv list and cron list with -A', async () => {
    const env = { KILN_URL: p.url }
    const id = await kiln(['fn', 'invoke', 'vault', '-n', 'team-a', '--async', '--data', '{"key":"cli"}', '--token', tokens.invokerA], env)
    expect(id.code, id.stderr).toBe(0)
    expect(id.stdout.trim()).toMatch(/^inv-/)
    expect((await ended(id.stdout.trim())).status).toBe('succeeded')
    const add = await kiln(['cron', 'add', 'yearly', '-n', 'team-a', '--function', 'tick', '--schedule', '0 0 1 1 *'], env)
    expect(add.code, add.stderr).toBe(0)
    const crons = await kiln(['cron', 'list', '-A'], env)
    expect(crons.stdout).toMatch(/^NAMESPACE\s+NAME\s+SCHEDULE/m)
    expect(crons.stdout).toMatch(/^team-a\s+yearly\s+0 0 1 1 \*/m)
    const invs = await kiln(['inv', 'list', '-A', '--function', 'vault'], env)
    expect(invs.stdout).toMatch(/^NAMESPACE\s+INVOCATION\s+FUNCTION/m)
    expect(invs.stdout).toMatch(new RegExp(`^team-a\\s+${id.stdout.trim()}\\s+vault\\s`, 'm'))
    expect((await kiln(['inv', 'get', id.stdout.trim(), '-n', 'team-b', '--token', tokens.viewerB], env)).code).toBe(1)
  })

  it('/async/ is reserved like /ns/: no user route under it, and an unknown /async path is no user\'s', async () => {
    for (const path of ['/async/orders', '/async/fn/x', '/ns/orders']) {
      const r = await p.call('/v1/triggers', { method: 'POST', body: JSON.stringify({ spec: { method: 'GET', path, function: 'tick' } }), headers: JSON_HEADERS })
      expect([path, r.status, r.json().error]).toEqual([path, 400, 'KILN_ERR_VALIDATION'])
    }
    const r = await p.call('/async/orders', { method: 'POST', body: '' })
    expect(r.status).toBe(404)
  })

  it('kiln ns delete counts a namespace\'s cron triggers, and --cascade deletes them', async () => {
    await createNamespace(p, 'team-c')
    await p.deploy('tick', COUNTER, { env: { COUNTER_DIR: dirA } }, 'team-c')
    expect((await p.call('/v1/crontriggers?namespace=team-c', { method: 'POST', body: JSON.stringify({ metadata: { name: 'nightly' }, spec: { function: 'tick', schedule: '0 3 * * *' } }), headers: JSON_HEADERS })).status).toBe(201)
    expect((await p.call('/v1/namespaces/team-c')).json().status.resources).toEqual({ CronTrigger: 1, Function: 1 })
    const refused = await p.call('/v1/namespaces/team-c', { method: 'DELETE' })
    expect([refused.status, refused.json().error]).toEqual([409, 'KILN_ERR_IN_USE'])
    const gone = await p.call('/v1/namespaces/team-c?cascade=1', { method: 'DELETE' })
    expect(gone.json()).toEqual({ deleted: 'team-c', cascaded: { CronTrigger: 1, Function: 1 } })
    await expect(access(join(p.dataDir, 'resources', 'crontrigger', 'team-c', 'nightly.json'))).rejects.toThrow()
  })
})
