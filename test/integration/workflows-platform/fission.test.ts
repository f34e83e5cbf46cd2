// Fission Workflows documents on an in-process platform, with executions in memory and in a real
// redis-server: deployed through the API and the CLI, invoked as Fission invokes them (POST /wf/NAME,
// their content types), calling real functions; refused when over the spec bounds; and runaway
// expressions failing their tasks while /fn/hello and other workflows keep answering.
import { join } from 'node:path'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { kiln } from '../../helpers/cli.js'
import { startTestPlatform, type TestPlatform } from '../../helpers/platform.js'
import { useRedis } from '../../helpers/redis.js'

const F = join(import.meta.dirname, 'fixtures')
const redis = useRedis()

describe.each(['memory', 'redis'] as const)('Fission Workflows on the platform (%s store)', (store) => {
  let p: TestPlatform
  const send = (method: string, path: string, body?: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    p.call(path, { method, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body), headers: body === undefined ? {} : headers })
  const deploy = async (name: string, doc: unknown) => {
    const res = await send('PUT', `/v1/workflows/${name}`, doc)
    expect(res.status, res.text).toBeLessThan(300)
  }

  beforeAll(async () => {
    p = await startTestPlatform(store === 'redis' ? { redisUrl: redis.current.url } : {})
    await p.deploy('reflect', join(F, 'reflect.mjs'))
    await p.deploy('hello', join(F, 'hello.mjs'))
  })
  afterAll(async () => {
    await p?.stop()
  })

  it('kiln wf deploy takes a *.wf.yaml unchanged (its name from the file), and POST /wf/NAME runs it with a text body', async () => {
    const d = await kiln(['wf', 'deploy', join(F, 'shout.wf.yaml')], { KILN_URL: p.url })
    expect(d.code, d.stderr).toBe(0)
    const got = await kiln(['wf', 'get', 'shout'], { KILN_URL: p.url })
    expect(got.stdout).toMatch(/Shout\s+run foreach/)
    const named = await kiln(['wf', 'deploy', join(F, 'shout.wf.yaml'), '--name', 'shout2'], { KILN_URL: p.url })
    expect(named.code, named.stderr).toBe(0)

    const res = await send('POST', '/wf/shout', 'the quick fox', { 'content-type': 'text/plain' })
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toMatch(/^application\/json/)
    expect(res.json()).toEqual(['THE', 'QUICK', 'FOX'])
    const id = res.headers['x-kiln-execution'] as string
    // their invocation status view: kiln wf get ID, /v1/executions/ID
    const x = (await send('GET', `/v1/executions/${id}`)).json()
    expect(x).toMatchObject({ workflow: 'shout', status: 'succeeded', input: { body: 'the quick fox', method: 'POST' } })
    expect(Object.keys(x.tasks).sort()).toEqual(['Shout', 'Shout[0]', 'Shout[1]', 'Shout[2]', 'Words'])
    const cli = await kiln(['wf', 'get', id], { KILN_URL: p.url })
    expect(cli.stdout).toMatch(/Shout\[2\]\s+succeeded/)
  })

  it('the example in docs/workflows.md runs as documented', async () => {
    const ex = join(import.meta.dirname, '..', '..', '..', 'examples', 'workflows', 'fission')
    await p.deploy('shout', join(ex, 'functions', 'shout.mjs'))
    await p.deploy('whalesay', join(ex, 'functions', 'whalesay.mjs'))
    const d = await kiln(['wf', 'deploy', join(ex, 'shoutwhale.wf.yaml')], { KILN_URL: p.url })
    expect(d.code, d.stderr).toBe(0)
    const short = await send('POST', '/wf/shoutwhale', 'hello there', { 'content-type': 'text/plain' })
    expect(short.text).toBe('HELLO THERE')
    const long = await send('POST', '/wf/shoutwhale', 'the whale says hi', { 'content-type': 'text/plain' })
    expect(long.text).toContain('< THE WHALE SAYS HI >')
  })

  it('content types as they document them: JSON parsed when the request says so, text otherwise; 204 for nothing; text for a string', async () => {
    await deploy('types', {
      apiVersion: 1, output: 'Out',
      tasks: {
        Out: { run: 'compose', inputs: { body: '{ param() }', kind: '{ typeof param() }', header: "{ param('headers')['X-Foo'] }", q: "{ param('query').q }", method: "{ param('method') }" } },
      },
    })
    const json = await send('POST', '/wf/types?q=1', '{"a": [1, 2]}', { 'content-type': 'application/json', 'x-foo': 'bar' })
    expect(json.json()).toEqual({ body: { a: [1, 2] }, kind: 'object', header: 'bar', q: '1', method: 'POST' })
    const text = await send('POST', '/wf/types', '{"a": [1, 2]}', { 'content-type': 'text/plain' })
    expect(text.json()).toMatchObject({ body: '{"a": [1, 2]}', kind: 'string' })
    const get = await p.call('/wf/types?q=2')
    expect(get.status).toBe(200)
    expect(get.json()).toMatchObject({ body: null, q: '2', method: 'GET' })
    const bad = await send('POST', '/wf/types', '{nope', { 'content-type': 'application/json' })
    expect(bad.status).toBe(400)
    expect(bad.json().error).toBe('KILN_ERR_BAD_REQUEST')

    await deploy('nothing', { apiVersion: 1, output: 'N', tasks: { N: { run: 'noop' } } })
    const none = await send('POST', '/wf/nothing', 'x', { 'content-type': 'text/plain' })
    expect(none.status).toBe(204)
    expect(none.text).toBe('')
    await deploy('greet', { apiVersion: 1, output: 'G', tasks: { G: { run: 'noop', inputs: "{ 'hello ' + param() }" } } })
    const greet = await send('POST', '/wf/greet', 'ada', { 'content-type': 'text/plain' })
    expect(greet.status).toBe(200)
    expect(greet.headers['content-type']).toMatch(/^text\/plain/)
    expect(greet.text).toBe('hello ada')
  })

  it('a task calls a function as Fission does: body, method, query, headers, the body type inferred or forced', async () => {
    await deploy('shaped', {
      apiVersion: 1, output: 'Both',
      tasks: {
        Map: { run: 'reflect', inputs: { body: { n: '{ param() }' }, method: 'PUT', query: { a: 'b' }, headers: { 'X-Custom': 'yes' } } },
        Text: { run: 'fission://reflect', inputs: '{ String(param()) }' },
        Both: { run: 'compose', requires: ['Map', 'Text'], inputs: { map: "{ output('Map') }", text: "{ output('Text') }" } },
      },
    })
    const res = await send('POST', '/wf/shaped', '7', { 'content-type': 'application/json' })
    expect(res.status, res.text).toBe(200)
    const out = res.json()
    expect(out.map).toMatchObject({ method: 'PUT', query: { a: 'b' }, header: 'yes', body: { n: 7 } })
    expect(out.map.contentType).toMatch(/^application\/json/)
    expect(out.text).toMatchObject({ method: 'POST', body: '7' })
    expect(out.text.contentType).toMatch(/^text\/plain/)
  })

  it('refuses at deploy: unknown functions, expressions that do not parse, and specs over the bounds (400 with a code)', async () => {
    const unknown = await send('PUT', '/v1/workflows/u1', { apiVersion: 1, tasks: { a: { run: 'nope' } } })
    expect(unknown.status).toBe(400)
    expect(unknown.json()).toMatchObject({ error: 'KILN_ERR_VALIDATION' })
    expect(unknown.json().message).toMatch(/tasks\.a\.run: unknown function or workflow "nope"/)
    const syntax = await send('PUT', '/v1/workflows/u2', { apiVersion: 1, tasks: { a: { run: 'noop', inputs: { x: '{ 1 + }' } } } })
    expect(syntax.status).toBe(400)
    expect(syntax.json().message).toMatch(/tasks\.a\.inputs\.x: invalid expression/)

    // 3,000 levels, written out as text (JSON.stringify itself overflows on such a document)
    const deepKilnText = `{"name":"deep","tasks":{"a":${'{"foreach":"$.input","do":'.repeat(3000)}{"function":"hello"}${'}'.repeat(3000)}}}`
    const deepKiln = await send('PUT', '/v1/workflows/deep', deepKilnText)
    expect(deepKiln.status).toBe(400)
    expect(deepKiln.json().error).toBe('KILN_ERR_WORKFLOW_TOO_LARGE')
    const deepFissionText = `{"apiVersion":1,"tasks":{"a":${'{"run":"if","inputs":{"if":true,"then":'.repeat(3000)}{"run":"noop"}${'}}'.repeat(3000)}}}`
    const deepFission = await send('PUT', '/v1/workflows/deep2', deepFissionText)
    expect(deepFission.status).toBe(400)
    expect(deepFission.json().error).toBe('KILN_ERR_WORKFLOW_TOO_LARGE')
    const many = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`t${i}`, { run: 'noop' }]))
    const wide = await send('PUT', '/v1/workflows/wide', { apiVersion: 1, tasks: many })
    expect(wide.status).toBe(400)
    expect(wide.json().error).toBe('KILN_ERR_WORKFLOW_TOO_LARGE')
    expect((await send('GET', '/v1/workflows/deep')).status).toBe(404)
  })

  it('a failing task answers with its catalogue code and the execution id', async () => {
    await deploy('failing', { apiVersion: 1, output: 'F', tasks: { F: { run: 'fail', inputs: 'all has failed' } } })
    const res = await send('POST', '/wf/failing', 'x', { 'content-type': 'text/plain' })
    expect(res.status).toBe(502)
    expect(res.json()).toMatchObject({ error: 'KILN_ERR_TASK_FAILED', task: 'F', workflow: 'failing' })
    expect(res.json().message).toContain('all has failed')
    expect(res.json().executionId).toMatch(/^ex-/)
  })

  it('runaway expressions fail their tasks (422) while /fn/hello and another workflow keep answering', async () => {
    await deploy('spin', { apiVersion: 1, output: 'S', tasks: { S: { run: 'noop', inputs: '{ while (true) {} }' } } })
    await deploy('hog', { apiVersion: 1, output: 'S', tasks: { S: { run: 'noop', inputs: '{ var a = []; while (true) a.push(new Array(1e5).fill(a.length)) }' } } })
    await deploy('redos', { name: 'redos', tasks: { t: { function: 'hello', input: "{{ $contains('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!', /^(a|aa)+$/) }}" } } })
    await deploy('quick', { apiVersion: 1, output: 'Q', tasks: { Q: { run: 'noop', inputs: '{ param() * 2 }' } } })

    let runawaysDone = false
    const answeredDuring: number[] = []
    const poll = (async () => {
      while (!runawaysDone) {
        const r = await request(`${p.url}/fn/hello`)
        const body = await r.body.text()
        if (!runawaysDone && r.statusCode === 200 && body === 'hello') answeredDuring.push(r.statusCode)
      }
    })()
    const runaways = ['spin', 'spin', 'hog', 'redos', 'redos'].map((w) => send('POST', `/wf/${w}`, '1', { 'content-type': 'application/json' }))
    const quick = await send('POST', '/wf/quick', '21', { 'content-type': 'application/json' })
    const results = await Promise.all(runaways)
    runawaysDone = true
    await poll
    expect(quick.status).toBe(200)
    expect(quick.text).toBe('42')
    for (const r of results) {
      expect(r.status, r.text).toBe(422)
      expect(r.json().error).toBe('KILN_ERR_EXPRESSION_LIMIT')
    }
    // /fn/hello answered while the runaway expressions ran (that it answered, not how fast)
    expect(answeredDuring.length).toBeGreaterThan(0)
  })
})
