// Workflows end to end: the real `kiln` CLI and HTTP against a real `kiln up` (real runtime processes),
// with executions in SQLite (the embedded default) and in a real redis-server; and a `kiln up` (on
// either) killed with SIGKILL mid-execution, restarted on the same data dir, finishing the execution.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { get, kiln, kilnUp, ROOT, type UpProcess } from '../helpers/cli.js'
import { useRedis } from '../helpers/redis.js'

const EXAMPLES = join(ROOT, 'examples', 'workflows')
const F = join(ROOT, 'test', 'integration', 'workflows-platform', 'fixtures')
const BIG_ORDER = { customer: 'ada', items: [{ sku: 'kiln', qty: 1 }, { sku: 'glaze', qty: 2 }] }
const BIG_OUTPUT = { decision: { decision: 'review', customer: 'ada', total: 156 }, total: 156, inStock: true }

const redis = useRedis()

async function deployFunctions(env: Record<string, string>, counterDir: string): Promise<void> {
  for (const file of (await readdir(join(EXAMPLES, 'functions'))).filter((f) => f.endsWith('.mjs'))) {
    const d = await kiln(['fn', 'deploy', file.replace(/\.mjs$/, ''), '--code', join(EXAMPLES, 'functions', file), '-q'], env)
    expect(d.code, d.stderr).toBe(0)
  }
  for (const [name, file, extra] of [['counter', 'counter.mjs', ['--env', `COUNTER_DIR=${counterDir}`]], ['text', 'text.mjs', []], ['throws', 'throws.mjs', []]] as const) {
    const d = await kiln(['fn', 'deploy', name, '--code', join(F, file), '-q', ...extra], env)
    expect(d.code, d.stderr).toBe(0)
  }
}

/** Polls the execution until it is no longer running (an event wait, not a timing assertion). */
async function finished(url: string, id: string): Promise<any> {
  for (let i = 0; i < 600; i++) {
    const res = await get(`${url}/v1/executions/${id}`)
    expect(res.status).toBe(200)
    const x = JSON.parse(res.text)
    if (x.status !== 'running') return x
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`execution ${id} never finished`)
}

const counter = async (dir: string, key: string) => (await readFile(join(dir, key), 'utf8').catch(() => '')).length

describe.each(['sqlite', 'redis'] as const)('workflows through kiln up (%s store)', (store) => {
  let dataDir: string
  let counterDir: string
  let up: UpProcess
  let env: Record<string, string>

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'kiln-e2e-wf-'))
    counterDir = await mkdtemp(join(tmpdir(), 'kiln-e2e-wf-counter-'))
    up = await kilnUp(dataDir, store === 'redis' ? ['--redis', redis.current.url] : [])
    env = { KILN_URL: up.url }
    await deployFunctions(env, counterDir)
    for (const file of [join(EXAMPLES, 'order.yaml'), join(F, 'flaky.yaml'), join(F, 'broken.yaml'), join(F, 'parent.yaml')]) {
      const d = await kiln(['wf', 'deploy', file], env)
      expect(d.code, d.stderr).toBe(0)
    }
  })

  afterAll(async () => {
    await up?.stop()
    await rm(dataDir, { recursive: true, force: true })
    await rm(counterDir, { recursive: true, force: true })
  })

  it('lists and shows the deployed workflows', async () => {
    const list = await kiln(['wf', 'list'], env)
    expect(list.code).toBe(0)
    expect(list.stdout).toMatch(/^NAME\s+TASKS/m)
    expect(list.stdout).toMatch(/^order\s+5\s+1\s/m)
    const g = await kiln(['wf', 'get', 'order', '-o', 'json'], env)
    expect(g.code).toBe(0)
    const wf = JSON.parse(g.stdout)
    expect(wf.kind).toBe('Workflow')
    expect(Object.keys(wf.spec.tasks)).toEqual(['validate', 'price', 'stock', 'route', 'notify'])
  })

  it('runs the order workflow synchronously through the CLI and over HTTP', async () => {
    const r = await kiln(['wf', 'run', 'order', '--data', JSON.stringify(BIG_ORDER)], env)
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual(BIG_OUTPUT)

    const res = await get(`${up.url}/wf/order`, { method: 'POST', body: JSON.stringify({ items: [{ sku: 'apple', qty: 2 }] }), headers: { 'content-type': 'application/json' } })
    expect(res.status).toBe(200)
    expect(res.headers['x-kiln-execution']).toMatch(/^ex-/)
    expect(JSON.parse(res.text)).toEqual({ decision: { decision: 'approved', total: 3 }, total: 3, inStock: true })
  })

  it('runs asynchronously and shows the execution with per-task timing and outputs', async () => {
    const r = await kiln(['wf', 'run', 'order', '--async', '--data', JSON.stringify(BIG_ORDER)], env)
    expect(r.code, r.stderr).toBe(0)
    const id = r.stdout.trim()
    expect(id).toMatch(/^ex-[0-9a-f-]{36}$/)
    const x = await finished(up.url, id)
    expect(x.status).toBe('succeeded')
    expect(x.output).toEqual(BIG_OUTPUT)
    expect(x.tasks.validate.status).toBe('succeeded')
    expect(typeof x.tasks.price.durationMs).toBe('number')
    expect(x.tasks['notify[1]'].output).toEqual({ sent: true, message: 'ada: line 2 (glaze) confirmed' })
    expect(x.tasks['route.then[0]'].status).toBe('succeeded')

    const g = await kiln(['wf', 'get', id], env)
    expect(g.code).toBe(0)
    expect(g.stdout).toMatch(/^status\s+succeeded$/m)
    expect(g.stdout).toMatch(/^TASK\s+STATUS\s+ATTEMPTS\s+DURATION/m)
    expect(g.stdout).toMatch(/^notify\[1\]\s+succeeded\s+1\s/m)
    const json = JSON.parse((await kiln(['wf', 'get', id, '-o', 'json'], env)).stdout)
    expect(json.id).toBe(id)
    expect(json.output).toEqual(BIG_OUTPUT)

    const listed = JSON.parse((await kiln(['wf', 'executions', 'order', '-o', 'json'], env)).stdout)
    expect(listed.map((e: { id: string }) => e.id)).toContain(id)
    const events = await get(`${up.url}/v1/executions/${id}/events`)
    expect(JSON.parse(events.text).map((e: { type: string }) => e.type).at(-1)).toBe('execution.succeeded')
  })

  it('answers 202 with a Location for Prefer: respond-async', async () => {
    const res = await get(`${up.url}/wf/order`, { method: 'POST', body: JSON.stringify(BIG_ORDER), headers: { 'content-type': 'application/json', prefer: 'respond-async' } })
    expect(res.status).toBe(202)
    const { executionId } = JSON.parse(res.text)
    expect(res.headers.location).toBe(`/v1/executions/${executionId}`)
    expect((await finished(up.url, executionId)).output).toEqual(BIG_OUTPUT)
  })

  it('routes an HTTP trigger to a workflow with the JSON body as its input', async () => {
    const r = await kiln(['route', 'add', '--method', 'POST', '--path', '/orders', '--workflow', 'order'], env)
    expect(r.code, r.stderr).toBe(0)
    const res = await get(`${up.url}/orders`, { method: 'POST', body: JSON.stringify(BIG_ORDER), headers: { 'content-type': 'application/json' } })
    expect(res.status).toBe(200)
    expect(JSON.parse(res.text)).toEqual(BIG_OUTPUT)
    const bad = await get(`${up.url}/orders`, { method: 'POST', body: JSON.stringify({ items: [] }), headers: { 'content-type': 'application/json' } })
    expect(bad.status).toBe(400)
    expect(JSON.parse(bad.text).error).toBe('KILN_ERR_WORKFLOW_INPUT')
    // a workflow that another workflow starts (parent) cannot be deleted
    const del = await kiln(['wf', 'delete', 'order'], env)
    expect(del.code).toBe(1)
    expect(del.stderr).toMatch(/started by workflow "parent"/)
  })

  it('refuses a workflow that calls an unknown function, naming the task', async () => {
    const d = await kiln(['wf', 'deploy', join(F, 'unknown-function.yaml')], env)
    expect(d.code).toBe(1)
    expect(d.stderr).toMatch(/tasks\.fanout\.do\.function: unknown function "no-such-function"/)
    const g = await kiln(['wf', 'get', 'unknown-fn'], env)
    expect(g.code).toBe(1)
    expect(g.stderr).toMatch(/not found/)
  })

  it('retries a failing task, catches one that fails for good, and reports both in the execution', async () => {
    const r = await kiln(['wf', 'run', 'flaky', '--data', JSON.stringify({ run: store }), '-o', 'json'], env)
    expect(r.code, r.stderr).toBe(0)
    const x = JSON.parse(r.stdout)
    expect(x.status).toBe('succeeded')
    expect(x.output).toEqual({ shaky: 3, fallback: 'KILN_ERR_FUNCTION_ERROR' })
    expect(x.tasks.shaky.attempts).toBe(3)
    expect(x.tasks.doomed).toMatchObject({ status: 'succeeded', attempts: 2, caught: { code: 'KILN_ERR_FUNCTION_ERROR', status: 500 } })
    expect(await counter(counterDir, `shaky-${store}`)).toBe(3)
    expect(await counter(counterDir, `doomed-${store}`)).toBe(2)
    expect(await counter(counterDir, `fallback-${store}`)).toBe(1)
  })

  it('a task that fails for good fails the execution: catalogue status, execution id and task in the answer', async () => {
    const res = await get(`${up.url}/wf/broken`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })
    expect(res.status).toBe(500)
    const body = JSON.parse(res.text)
    expect(body).toMatchObject({ error: 'KILN_ERR_FUNCTION_ERROR', task: 'boom', workflow: 'broken' })
    expect(body.executionId).toMatch(/^ex-/)
    const x = JSON.parse((await get(`${up.url}/v1/executions/${body.executionId}`)).text)
    expect(x.status).toBe('failed')
    expect(x.tasks.first.status).toBe('succeeded')
    expect(x.tasks.boom.status).toBe('failed')

    const r = await kiln(['wf', 'run', 'broken'], env)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/at task boom: KILN_ERR_FUNCTION_ERROR/)
  })

  it('runs a nested workflow as a child execution', async () => {
    const r = await kiln(['wf', 'run', 'parent', '--data', JSON.stringify(BIG_ORDER), '-o', 'json'], env)
    expect(r.code, r.stderr).toBe(0)
    const x = JSON.parse(r.stdout)
    expect(x.output).toEqual({ child: BIG_OUTPUT, text: 'hello review' })
    const childId = x.tasks.order.childExecutionId
    const child = await kiln(['wf', 'get', childId, '-o', 'json'], env)
    expect(child.code, child.stderr).toBe(0)
    expect(JSON.parse(child.stdout)).toMatchObject({ workflow: 'order', parentId: x.id, status: 'succeeded', output: BIG_OUTPUT })
  })

  it('read commands fail with exit 1 for unknown names and 2 for an unreachable server', async () => {
    expect((await kiln(['wf', 'get', 'ex-00000000-0000-0000-0000-000000000000'], env)).code).toBe(1)
    const missing = await kiln(['wf', 'run', 'nope'], env)
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/workflow "nope" not found/)
    expect((await kiln(['wf', 'list'], { KILN_URL: 'http://127.0.0.1:9' })).code).toBe(2)
  })
})

describe.each(['sqlite', 'redis'] as const)('kiln up (%s) killed with SIGKILL mid-execution', (store) => {
  let dataDir: string
  let counterDir: string
  let up: UpProcess | undefined

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'kiln-e2e-wf-resume-'))
    counterDir = await mkdtemp(join(tmpdir(), 'kiln-e2e-wf-resume-counter-'))
  })

  afterAll(async () => {
    await up?.stop()
    await rm(dataDir, { recursive: true, force: true })
    await rm(counterDir, { recursive: true, force: true })
  })

  const stateFlags = () => (store === 'redis' ? ['--redis', redis.current.url] : [])

  it('finishes the execution after a restart on the same data dir (and Redis), without re-running completed tasks', async () => {
    up = await kilnUp(dataDir, stateFlags())
    const env = { KILN_URL: up.url }
    const d = await kiln(['fn', 'deploy', 'counter', '--code', join(F, 'counter.mjs'), '--env', `COUNTER_DIR=${counterDir}`, '-q'], env)
    expect(d.code, d.stderr).toBe(0)
    expect((await kiln(['wf', 'deploy', join(F, 'slow.yaml')], env)).code).toBe(0)

    const r = await kiln(['wf', 'run', 'slow', '--async', '--data', '{"run":"r1"}'], env)
    expect(r.code, r.stderr).toBe(0)
    const id = r.stdout.trim()
    // Wait until the second task's function has been called (it then sleeps 3 s), then kill kiln up.
    for (let i = 0; (await counter(counterDir, 'second-r1')) < 1; i++) {
      if (i > 400) throw new Error('the second task never started')
      await new Promise((res) => setTimeout(res, 25))
    }
    const mid = JSON.parse((await get(`${up.url}/v1/executions/${id}`)).text)
    expect(mid.status).toBe('running')
    expect(mid.tasks.first.status).toBe('succeeded')
    expect(mid.tasks.second.status).toBe('running')
    await up.stop('SIGKILL')

    up = await kilnUp(dataDir, stateFlags())
    const x = await finished(up.url, id)
    expect(x.status).toBe('succeeded')
    expect(x.output).toEqual({ first: 1, second: 2 })
    expect(await counter(counterDir, 'first-r1')).toBe(1)
    expect(await counter(counterDir, 'second-r1')).toBe(2)
    const g = await kiln(['wf', 'get', id, '-o', 'json'], { KILN_URL: up.url })
    expect(JSON.parse(g.stdout).tasks.first.attempts).toBe(1)
  })
})
