// The workflow control API (/v1/workflows, /v1/executions) and data plane (/wf/NAME) of an in-process
// platform, with executions in memory and in a real redis-server.
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sharedDir } from '../../helpers/shared-dir.js'
import { startTestPlatform, type TestPlatform } from '../../helpers/platform.js'
import { useRedis } from '../../helpers/redis.js'

const F = join(import.meta.dirname, 'fixtures')
const JSON_HEADERS = { 'content-type': 'application/json' }
const redis = useRedis()

describe.each(['memory', 'redis'] as const)('workflow API (%s store)', (store) => {
  let p: TestPlatform
  let counterDir: string
  const send = (method: string, path: string, body?: unknown, headers: Record<string, string> = JSON_HEADERS) =>
    p.call(path, { method, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body), headers: body === undefined ? {} : headers })

  async function finished(id: string): Promise<any> {
    for (let i = 0; i < 400; i++) {
      const x = (await send('GET', `/v1/executions/${id}`)).json()
      if (x.status !== 'running') return x
      await new Promise((r) => setTimeout(r, 25))
    }
    throw new Error(`execution ${id} never finished`)
  }

  beforeAll(async () => {
    const shared = await sharedDir('kiln-wf-api-')
    counterDir = shared.dir
    p = await startTestPlatform({ ...(store === 'redis' ? { redisUrl: redis.current.url } : {}), sandbox: { mounts: [shared.mount] } })
    await p.deploy('counter', join(F, 'counter.mjs'), { env: { COUNTER_DIR: counterDir } })
  })

  afterAll(async () => {
    await p?.stop()
    await rm(counterDir, { recursive: true, force: true })
  })

  it('creates a workflow from its document or a resource, and refuses a duplicate', async () => {
    const doc = { name: 'one', tasks: { a: { function: 'counter', input: { key: 'one' } } } }
    const created = await send('POST', '/v1/workflows', doc)
    expect(created.status).toBe(201)
    expect(created.json()).toMatchObject({ kind: 'Workflow', metadata: { name: 'one', generation: 1 }, spec: doc, status: { tasks: 1 } })
    expect((await send('POST', '/v1/workflows', doc)).json().error).toBe('KILN_ERR_ALREADY_EXISTS')

    const res = await send('PUT', '/v1/workflows/two', { metadata: { name: 'two' }, spec: { tasks: { a: { function: 'counter' } } } })
    expect(res.status).toBe(201)
    expect(res.json().spec.name).toBe('two')
    const again = await send('PUT', '/v1/workflows/two', { metadata: { name: 'two' }, spec: { tasks: { b: { function: 'counter' } } } })
    expect(again.status).toBe(200)
    expect(again.json().metadata.generation).toBe(2)
    expect((await send('GET', '/v1/workflows')).json().map((w: any) => w.metadata.name)).toEqual(['one', 'two'])
  })

  it('refuses invalid workflows with KILN_ERR_VALIDATION naming the task and field', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ name: 'c1', tasks: { a: { function: 'nope' } } }, /tasks\.a\.function: unknown function "nope"/],
      [{ name: 'c2', tasks: { a: { workflow: 'ghost' } } }, /tasks\.a\.workflow: unknown workflow "ghost"/],
      [{ name: 'c3', tasks: { a: { function: 'counter', requires: ['b'] }, b: { function: 'counter', requires: ['a'] } } }, /tasks\.\w\.requires: cycle/],
      [{ name: 'c4', tasks: { a: { function: 'counter', requries: ['x'] } } }, /tasks\.a\.requries: unknown field/],
      [{ name: 'Bad_Name', tasks: { a: { function: 'counter' } } }, /metadata\.name/],
      [{ name: 'ex-1', tasks: { a: { function: 'counter' } } }, /looks like an execution id/],
    ]
    for (const [doc, message] of cases) {
      const res = await send('POST', '/v1/workflows', doc)
      expect(res.status, JSON.stringify(doc)).toBe(400)
      expect(res.json().error).toBe('KILN_ERR_VALIDATION')
      expect(res.json().message).toMatch(message)
    }
    const mismatch = await send('PUT', '/v1/workflows/other', { name: 'one', tasks: { a: { function: 'counter' } } })
    expect(mismatch.status).toBe(400)
    expect((await send('GET', '/v1/workflows/c1')).json().error).toBe('KILN_ERR_WORKFLOW_NOT_FOUND')
  })

  it('runs through the API: the record when it ends, or 202 and a Location with ?async=1', async () => {
    const sync = await send('POST', '/v1/workflows/one/executions', { x: 1 })
    expect(sync.status).toBe(200)
    const x = sync.json()
    expect(x).toMatchObject({ workflow: 'one', status: 'succeeded', input: { x: 1 }, output: { a: { key: 'one', count: 1 } } })
    expect(x.id).toMatch(/^ex-/)
    expect(x.spec).toBeUndefined()
    expect(typeof x.tasks.a.durationMs).toBe('number')

    const async = await send('POST', '/v1/workflows/one/executions?async=1', { x: 2 })
    expect(async.status).toBe(202)
    const { executionId } = async.json()
    expect(async.headers.location).toBe(`/v1/executions/${executionId}`)
    expect((await finished(executionId)).output).toMatchObject({ a: { key: 'one', count: 2, execution: executionId, task: 'a' } })
    expect((await send('GET', `/v1/executions/${executionId}?spec=1`)).json().spec.name).toBe('one')

    const listed = (await send('GET', '/v1/executions?workflow=one')).json()
    expect(listed.map((e: any) => e.id)).toEqual([executionId, x.id])
    expect((await send('GET', '/v1/executions?workflow=two')).json()).toEqual([])
    expect((await send('GET', '/v1/executions?status=bogus')).status).toBe(400)
    const events = (await send('GET', `/v1/executions/${x.id}/events`)).json()
    expect(events.map((e: any) => e.type)).toEqual(['execution.created', 'task.started', 'task.succeeded', 'execution.succeeded'])
    const missing = await send('GET', '/v1/executions/ex-nope')
    expect(missing.status).toBe(404)
    expect(missing.json().error).toBe('KILN_ERR_EXECUTION_NOT_FOUND')
    expect((await send('GET', '/v1/executions/ex-nope/events')).status).toBe(404)
    expect((await send('POST', '/v1/workflows/ghost/executions', {})).json().error).toBe('KILN_ERR_WORKFLOW_NOT_FOUND')
  })

  it('cancels a running execution (KILN_ERR_CANCELLED), and refuses to cancel it twice', async () => {
    const put = await send('PUT', '/v1/workflows/sleepy', { name: 'sleepy', tasks: { s: { function: 'counter', input: { key: `sleepy-${store}`, sleepMs: 5000 } } } })
    expect(put.status).toBe(201)
    const { executionId } = (await send('POST', '/v1/workflows/sleepy/executions?async=1', {})).json()
    for (let i = 0; (await readFile(join(counterDir, `sleepy-${store}`), 'utf8').catch(() => '')).length < 1; i++) {
      if (i > 400) throw new Error('never called')
      await new Promise((r) => setTimeout(r, 25))
    }
    const res = await send('POST', `/v1/executions/${executionId}/cancel`)
    expect(res.status).toBe(200)
    expect(res.json()).toMatchObject({ status: 'failed', error: { code: 'KILN_ERR_CANCELLED' }, tasks: { s: { status: 'cancelled' } } })
    const again = await send('POST', `/v1/executions/${executionId}/cancel`)
    expect(again.status).toBe(409)
    expect(again.json().error).toBe('KILN_ERR_CONFLICT')
  })

  it('POST /wf/NAME reads the JSON body itself: 400 for bad JSON, 413 above the limit, 404 for no workflow', async () => {
    const ok = await send('POST', '/wf/one', '{"hello":"world"}', { 'content-type': 'text/plain' })
    expect(ok.status).toBe(200)
    expect(ok.json()).toMatchObject({ a: { key: 'one', count: 3 } })
    const empty = await p.call('/wf/one', { method: 'POST' })
    expect(empty.status).toBe(200)

    const bad = await send('POST', '/wf/one', '{not json')
    expect(bad.status).toBe(400)
    expect(bad.json().error).toBe('KILN_ERR_BAD_REQUEST')
    const big = await send('POST', '/wf/one', JSON.stringify({ blob: 'x'.repeat(17 * 1024 * 1024) }))
    expect(big.status).toBe(413)
    expect(big.json().error).toBe('KILN_ERR_BODY_TOO_LARGE')
    const none = await send('POST', '/wf/ghost', '{}')
    expect(none.status).toBe(404)
    expect(none.json().error).toBe('KILN_ERR_WORKFLOW_NOT_FOUND')
    const get = await p.call('/wf/one')
    expect(get.status).toBe(400)
    // the function path still streams (the router's parsers are untouched)
    expect((await send('POST', '/fn/counter', { key: 'direct' })).json()).toMatchObject({ key: 'direct', count: 1 })
  })

  it('a route may target a workflow; such a workflow is in use until the route is deleted', async () => {
    const route = await send('POST', '/v1/triggers', { spec: { method: 'POST', path: '/run-one', workflow: 'one' } })
    expect(route.status).toBe(201)
    const res = await send('POST', '/run-one', '{}')
    expect(res.status).toBe(200)
    expect(res.headers['x-kiln-execution']).toMatch(/^ex-/)
    const del = await send('DELETE', '/v1/workflows/one')
    expect(del.status).toBe(409)
    expect(del.json().error).toBe('KILN_ERR_IN_USE')
    expect((await send('DELETE', `/v1/triggers/${route.json().metadata.name}`)).status).toBe(200)
    expect((await send('DELETE', '/v1/workflows/one')).json()).toEqual({ deleted: 'one' })
    expect((await send('DELETE', '/v1/workflows/one')).status).toBe(404)

    // A route to a workflow that does not exist is refused, naming the field.
    const dangling = await send('POST', '/v1/triggers', { spec: { method: 'POST', path: '/ghost', workflow: 'ghost' } })
    expect(dangling.status).toBe(400)
    expect(dangling.json().error).toBe('KILN_ERR_VALIDATION')
    expect(dangling.json().message).toMatch(/spec\.workflow/)
    expect((await send('POST', '/ghost', '{}')).json().error).toBe('KILN_ERR_ROUTE_NOT_FOUND')
  })
})

describe('workflow store selection', () => {
  it('an unreachable --redis stops the platform from starting with KILN_ERR_VALIDATION', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'kiln-wf-noredis-'))
    try {
      await expect(startTestPlatform({ redisUrl: 'redis://127.0.0.1:9' }, dataDir)).rejects.toMatchObject({ code: 'KILN_ERR_VALIDATION' })
    } finally {
      await rm(dataDir, { recursive: true, force: true })
    }
  })
})
