// Queue triggers as citizens of tenancy, through a real platform (real runtime processes) and a real
// redis-server and nats-server (JetStream): a trigger in team-a calls team-a's function (not default's
// of the same name), private ones too, with its own consumer group beside default's trigger of the
// same name on the same topic, and lives in team-a's folder of the data dir; a developer or viewer of
// team-b can neither make, see nor delete team-a's triggers, nor point one of its own at team-a's
// function; `kiln ns delete --cascade` takes them (and their consumers stop); the CLI's -n and -A.
import { access, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { kiln } from '../../helpers/cli.js'
import { startTestPlatform, type TestPlatform } from '../../helpers/platform.js'
import { QUEUE_KINDS, type Msg, type TestBroker } from '../../helpers/queue-brokers.js'
import { as, createNamespace, tokenFor } from '../../helpers/tenancy.js'
import { until } from '../../helpers/until.js'

const ECHO = join(import.meta.dirname, '../../fixtures/queue/echo.mjs')
const JSON_HEADERS = { 'content-type': 'application/json' }

describe('queue triggers in namespaces', () => {
  let p: TestPlatform
  const servers: { url: string; stop(): Promise<void> }[] = []
  const brokers = new Map<string, { url: string; b: TestBroker; topic(s: string): string }>()
  const tokens: Record<string, string> = {}

  const add = (ns: string, name: string, spec: Record<string, unknown>, token?: string) => {
    const body = { metadata: { name }, spec }
    return token === undefined
      ? p.call(`/v1/mqtriggers?namespace=${ns}`, { method: 'POST', body: JSON.stringify(body), headers: JSON_HEADERS })
      : as(p, token, 'POST', `/v1/mqtriggers?namespace=${ns}`, body)
  }
  const arrived = (b: TestBroker, t: string, n: number) => until(`${n} messages on ${t}`, async () => {
    const got = await b.read(t)
    return got.length >= n ? got : undefined
  }, 60_000)
  const redis = () => brokers.get('redis-stream')!

  beforeAll(async () => {
    for (const k of QUEUE_KINDS) {
      const server = await k.start()
      servers.push(server)
      brokers.set(k.kind, { url: server.url, b: await k.client(server.url), topic: k.topic })
    }
    p = await startTestPlatform({ poolSize: 1, queueLeaseMs: 3000 })
    await createNamespace(p, 'team-a')
    await createNamespace(p, 'team-b')
    // Two functions named `echo`, told apart by what they answer; team-a also has a private one, and
    // one that only team-a has.
    await p.deploy('echo', ECHO, { env: { ECHO_TAG: 'default' } })
    await p.deploy('echo', ECHO, { env: { ECHO_TAG: 'team-a' } }, 'team-a')
    await p.deploy('vault', ECHO, { env: { ECHO_TAG: 'team-a-private' }, private: true }, 'team-a')
    await p.deploy('only-a', ECHO, { env: { ECHO_TAG: 'only-a' } }, 'team-a')
    for (const [name, role, ns] of [['devA', 'developer', 'team-a'], ['viewerA', 'viewer', 'team-a'], ['devB', 'developer', 'team-b'], ['viewerB', 'viewer', 'team-b']] as const) {
      tokens[name] = await tokenFor(p, role, [ns])
    }
  }, 120_000)

  afterAll(async () => {
    for (const { b } of brokers.values()) await b.close()
    await p?.stop()
    for (const s of servers) await s.stop()
  })

  it.each(QUEUE_KINDS.map((k) => k.kind))('%s: a trigger in team-a calls team-a\'s function; default\'s trigger of the same name on the same topic is another consumer', async (kind) => {
    const { url, b, topic } = brokers.get(kind)!
    const [inT, outA, outD] = [topic(`ns-${kind}-in`), topic(`ns-${kind}-out-a`), topic(`ns-${kind}-out-d`)]
    const a = await add('team-a', 'orders', { kind, url, topic: inT, function: 'echo', responseTopic: outA })
    expect(a.status, a.text).toBe(201)
    expect(a.json().metadata).toMatchObject({ name: 'orders', namespace: 'team-a' })
    expect((await add('default', 'orders', { kind, url, topic: inT, function: 'echo', responseTopic: outD })).status).toBe(201)

    const id = await b.publish(inT, JSON.stringify({ n: 1 }))
    const answer = (m: Msg[]) => m.map((x) => ({ id: x.headers['x-kiln-message-id'], trigger: x.headers['x-kiln-trigger'], ...JSON.parse(x.body) }))
    const [fromA] = answer(await arrived(b, outA, 1))
    const [fromD] = answer(await arrived(b, outD, 1))
    // Each trigger had the message (two consumer groups), and each called its own namespace's `echo`.
    expect(fromA).toMatchObject({ id, trigger: 'orders', tag: 'team-a', body: { n: 1 }, headers: { 'x-kiln-trigger': 'orders', 'x-kiln-delivery': '1' } })
    expect(fromD).toMatchObject({ id, trigger: 'orders', tag: 'default', body: { n: 1 } })
    await until('both acknowledged', async () => (await b.acknowledged('team-a/orders', inT, [id])).length === 1 && (await b.acknowledged('orders', inT, [id])).length === 1, 30_000)

    // Status is per trigger ref; reading it in team-a names team-a's.
    const got = await until('team-a/orders to count its success', async () => {
      const t = (await p.call('/v1/mqtriggers/orders?namespace=team-a')).json()
      return t.status?.succeeded === 1 ? t : undefined
    }, 30_000)
    expect(got).toMatchObject({ metadata: { name: 'orders', namespace: 'team-a' }, spec: { responseTopic: outA }, status: { connected: true, delivered: 1 } })

    for (const ns of ['team-a', 'default']) {
      const del = await p.call(`/v1/mqtriggers/orders?namespace=${ns}`, { method: 'DELETE' })
      expect(del.json()).toEqual(ns === 'default' ? { deleted: 'orders' } : { deleted: 'orders', namespace: 'team-a' })
    }
  })

  it.each(QUEUE_KINDS.map((k) => k.kind))('%s: a trigger calls a private function of its namespace with the platform\'s token, which the function never sees', async (kind) => {
    const { url, b, topic } = brokers.get(kind)!
    const [inT, outT] = [topic(`vault-${kind}-in`), topic(`vault-${kind}-out`)]
    const put = await p.call('/v1/mqtriggers/vault-feed?namespace=team-a', { method: 'PUT', body: JSON.stringify({ spec: { kind, url, topic: inT, function: 'vault', responseTopic: outT } }), headers: JSON_HEADERS })
    expect(put.status, put.text).toBe(201)
    const id = await b.publish(inT, '"secret work"', { authorization: 'Bearer from-the-message' })
    const [m] = await arrived(b, outT, 1)
    expect(m!.headers).toMatchObject({ 'x-kiln-status': '200', 'x-kiln-message-id': id })
    expect(JSON.parse(m!.body)).toMatchObject({ tag: 'team-a-private', body: 'secret work', authorization: null })
    expect((await p.call('/v1/mqtriggers/vault-feed?namespace=team-a', { method: 'DELETE' })).status).toBe(200)
  })

  it('is stored in team-a\'s folder, replaced by PUT (200) keeping the password it shows as ***, and names a function of its own namespace only', async () => {
    const url = 'redis://:s3cret@127.0.0.1:1'
    expect((await add('team-a', 'stored', { kind: 'redis-stream', url, topic: 'q:stored', function: 'echo' })).status).toBe(201)
    const file = join(p.dataDir, 'resources', 'queuetrigger', 'team-a', 'stored.json')
    await access(file)
    const shown = (await p.call('/v1/mqtriggers/stored?namespace=team-a')).json()
    expect(shown.spec.url).toBe('redis://:***@127.0.0.1:1')
    const again = await p.call('/v1/mqtriggers/stored?namespace=team-a', { method: 'PUT', body: JSON.stringify({ metadata: shown.metadata, spec: { ...shown.spec, maxRetries: 2 } }), headers: JSON_HEADERS })
    expect(again.status, again.text).toBe(200)
    const stored = JSON.parse(await readFile(file, 'utf8'))
    expect(stored.spec).toMatchObject({ url, maxRetries: 2 })
    expect((await p.call('/v1/mqtriggers/stored?namespace=team-a', { method: 'DELETE' })).status).toBe(200)

    // A function of default only, a body naming another namespace, a function named across namespaces.
    const base = { kind: 'redis-stream', url: redis().url, topic: 'q:x' }
    await p.deploy('only-default', ECHO, {})
    for (const [ns, body] of [
      ['team-a', { metadata: { name: 'x' }, spec: { ...base, function: 'only-default' } }],
      ['team-a', { metadata: { name: 'x', namespace: 'team-b' }, spec: { ...base, function: 'echo' } }],
      ['team-a', { metadata: { name: 'x' }, spec: { ...base, function: 'default/echo' } }],
    ] as const) {
      const r = await p.call(`/v1/mqtriggers?namespace=${ns}`, { method: 'POST', body: JSON.stringify(body), headers: JSON_HEADERS })
      expect([r.status, r.json().error], JSON.stringify(body)).toEqual([400, 'KILN_ERR_VALIDATION'])
    }
    expect((await p.call('/v1/mqtriggers?namespace=team-a')).json()).toEqual([])
  })

  it('a developer of team-b can neither make, see nor delete team-a\'s triggers, nor point one at team-a\'s function; team-a\'s viewer reads, its developer writes', async () => {
    const spec = { kind: 'redis-stream', url: redis().url, topic: 'q:authz', function: 'echo' }
    const mine = await add('team-a', 'guarded', spec, tokens.devA)
    expect(mine.status, mine.text).toBe(201)

    const b = (method: string, path: string, token: string, body?: unknown) => as(p, token, method, path, body)
    const refused: [string, string, unknown?][] = [
      ['POST', '/v1/mqtriggers?namespace=team-a', { metadata: { name: 'intruder' }, spec }],
      ['PUT', '/v1/mqtriggers/guarded?namespace=team-a', { spec }],
      ['GET', '/v1/mqtriggers?namespace=team-a'],
      ['GET', '/v1/mqtriggers/guarded?namespace=team-a'],
      ['DELETE', '/v1/mqtriggers/guarded?namespace=team-a'],
    ]
    for (const [method, path, body] of refused) {
      const r = await b(method, path, tokens.devB, body)
      expect([method, path, r.status, r.json().error]).toEqual([method, path, 403, 'KILN_ERR_FORBIDDEN'])
    }
    // Without ?namespace= the token acts in team-b, where team-a's trigger is not.
    const own = await b('GET', '/v1/mqtriggers/guarded', tokens.devB)
    expect([own.status, own.json().error]).toEqual([404, 'KILN_ERR_MQ_TRIGGER_NOT_FOUND'])
    expect((await b('DELETE', '/v1/mqtriggers/guarded', tokens.devB)).status).toBe(404)
    for (const path of ['/v1/mqtriggers', '/v1/mqtriggers?namespace=*']) {
      const list = await b('GET', path, tokens.viewerB)
      expect([path, list.status, list.json()]).toEqual([path, 200, []])
    }
    // team-b's own trigger cannot reach team-a's function: the name means team-b's, and there is none.
    for (const fn of ['only-a', 'team-a/only-a']) {
      const r = await b('POST', '/v1/mqtriggers', tokens.devB, { metadata: { name: 'reach' }, spec: { ...spec, function: fn } })
      expect([fn, r.status, r.json().error]).toEqual([fn, 400, 'KILN_ERR_VALIDATION'])
    }

    const seen = await b('GET', '/v1/mqtriggers', tokens.viewerA)
    expect(seen.json().map((t: { metadata: { name: string; namespace: string } }) => [t.metadata.namespace, t.metadata.name])).toEqual([['team-a', 'guarded']])
    expect((await b('POST', '/v1/mqtriggers', tokens.viewerA, { metadata: { name: 'v' }, spec })).status).toBe(403)
    expect((await b('DELETE', '/v1/mqtriggers/guarded', tokens.viewerA)).status).toBe(403)
    // An admin across namespaces.
    const all = (await p.call('/v1/mqtriggers?namespace=*')).json()
    expect(all.map((t: { metadata: { namespace: string } }) => t.metadata.namespace)).toContain('team-a')
    expect((await b('DELETE', '/v1/mqtriggers/guarded', tokens.devA)).json()).toEqual({ deleted: 'guarded', namespace: 'team-a' })
  })

  it('the CLI: mq add and get with -n, mq list with -A, a viewer of team-b gets nothing of team-a\'s', async () => {
    const env = { KILN_URL: p.url }
    const add = await kiln(['mq', 'add', 'cli-feed', '-n', 'team-a', '--kind', 'redis-stream', '--url', redis().url, '--topic', 'q:cli', '--function', 'echo'], env)
    expect(add.code, add.stderr).toBe(0)
    const list = await kiln(['mq', 'list', '-A'], env)
    expect(list.stdout).toMatch(/^NAMESPACE\s+NAME\s+KIND\s+TOPIC\s+FUNCTION/m)
    expect(list.stdout).toMatch(/^team-a\s+cli-feed\s+redis-stream\s+q:cli\s+echo\s/m)
    const get = await kiln(['mq', 'get', 'cli-feed', '-n', 'team-a'], env)
    expect(get.stdout).toMatch(/^namespace\s+team-a$/m)
    expect((await kiln(['mq', 'get', 'cli-feed'], env)).code).toBe(1)
    expect((await kiln(['mq', 'get', 'cli-feed', '-n', 'team-a', '--token', tokens.viewerB], env)).code).toBe(1)
    const del = await kiln(['mq', 'delete', 'cli-feed', '-n', 'team-a'], env)
    expect(del.code, del.stderr).toBe(0)
    expect((await p.call('/v1/mqtriggers/cli-feed?namespace=team-a')).status).toBe(404)
  })

  it('kiln ns delete counts a namespace\'s queue triggers, and --cascade deletes them and stops their consumers', async () => {
    await createNamespace(p, 'team-c')
    await p.deploy('echo', ECHO, { env: { ECHO_TAG: 'team-c' } }, 'team-c')
    const { url } = redis()
    expect((await add('team-c', 'feed', { kind: 'redis-stream', url, topic: 'q:cascade', function: 'echo', responseTopic: 'q:cascade-out' })).status).toBe(201)
    await until('team-c/feed consuming', async () => p.ctx.queues.status('team-c/feed')?.connected === true, 30_000)
    expect((await p.call('/v1/namespaces/team-c')).json().status.resources).toEqual({ Function: 1, QueueTrigger: 1 })
    const refused = await p.call('/v1/namespaces/team-c', { method: 'DELETE' })
    expect([refused.status, refused.json().error]).toEqual([409, 'KILN_ERR_IN_USE'])
    const gone = await p.call('/v1/namespaces/team-c?cascade=1', { method: 'DELETE' })
    expect(gone.json()).toEqual({ deleted: 'team-c', cascaded: { Function: 1, QueueTrigger: 1 } })
    await expect(access(join(p.dataDir, 'resources', 'queuetrigger', 'team-c', 'feed.json'))).rejects.toThrow()
    await until('team-c/feed stopped', async () => p.ctx.queues.status('team-c/feed') === undefined, 30_000)
    expect((await p.call('/v1/mqtriggers?namespace=*')).json().filter((t: { metadata: { namespace: string } }) => t.metadata.namespace === 'team-c')).toEqual([])
  })
})
