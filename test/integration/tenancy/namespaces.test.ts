// Namespaces end to end on a real platform (real runtime processes): one name in two namespaces, both
// served; namespaces that must exist and are deleted only empty or with cascade; user routes as one URL
// space; private functions and what reaches them; workflows that call their own namespace's functions;
// the control API on its own listener.
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildNodeRuntime } from '../../helpers/build-runtime.js'
import { startTestPlatform, type TestPlatform } from '../../helpers/platform.js'
import { as, createNamespace, tokenFor } from '../../helpers/tenancy.js'

const FIX = join(import.meta.dirname, '..', '..', 'fixtures', 'tenancy')
const HELLO = join(FIX, 'hello-ns.mjs')
const INSPECT = join(FIX, 'inspect.mjs')

describe('namespaces', () => {
  let p: TestPlatform

  beforeAll(async () => {
    await buildNodeRuntime()
    p = await startTestPlatform({ poolSize: 1, cgroups: 'none' })
    await createNamespace(p, 'team-a')
    await createNamespace(p, 'team-b')
  }, 60_000)
  afterAll(async () => { await p?.stop() })

  it('two functions named hello in two namespaces are both served: /fn/hello and /ns/team-a/fn/hello', async () => {
    await p.deploy('hello', HELLO, { env: { GREETING: 'from default' } })
    await p.deploy('hello', HELLO, { env: { GREETING: 'from team-a' } }, 'team-a')
    expect((await as(p, undefined, 'GET', '/fn/hello')).json()).toEqual({ greeting: 'from default' })
    expect((await as(p, undefined, 'GET', '/ns/default/fn/hello')).json()).toEqual({ greeting: 'from default' })
    expect((await as(p, undefined, 'GET', '/ns/team-a/fn/hello')).json()).toEqual({ greeting: 'from team-a' })
    expect((await as(p, undefined, 'GET', '/ns/team-b/fn/hello')).json().error).toBe('KILN_ERR_FUNCTION_NOT_FOUND')

    const names = (r: { json(): any }) => r.json().map((f: any) => `${f.metadata.namespace}/${f.metadata.name}`).sort()
    expect(names(await p.call('/v1/functions'))).toEqual(['default/hello'])
    expect(names(await p.call('/v1/functions?namespace=team-a'))).toEqual(['team-a/hello'])
    expect(names(await p.call('/v1/functions?namespace=*'))).toEqual(['default/hello', 'team-a/hello'])
    // A developer of team-a acts in team-a without naming it, and lists only what it may read.
    const dev = await tokenFor(p, 'developer', ['team-a'])
    expect((await as(p, dev, 'GET', '/v1/functions/hello')).json().spec.env).toEqual({ GREETING: 'from team-a' })
    expect(names(await as(p, dev, 'GET', '/v1/functions?namespace=*'))).toEqual(['team-a/hello'])
    // Its instances are the namespaced function's own (refs in the executor and in /v1/instances).
    expect(p.ctx.executor.state('team-a/hello')?.fn.spec.env).toEqual({ GREETING: 'from team-a' })
  })

  it('a namespaced function\'s output is its own log (logs/team-a/NAME.log), read in its namespace', async () => {
    const LOGS = join(import.meta.dirname, '..', '..', 'e2e', 'fixtures', 'logs.cjs')
    await p.deploy('talker', LOGS, {}, 'team-a')
    expect((await as(p, undefined, 'GET', '/ns/team-a/fn/talker')).status).toBe(200)
    let lines: string[] = []
    for (let i = 0; i < 200 && lines.length === 0; i++) {
      lines = (await p.call('/v1/functions/talker/logs?namespace=team-a')).json().lines
      if (lines.length === 0) await new Promise((r) => setTimeout(r, 50))
    }
    expect(lines.join('\n')).toMatch(/stdout/)
    expect((await p.call('/v1/functions/talker/logs')).json().error).toBe('KILN_ERR_FUNCTION_NOT_FOUND')
  })

  it('resources go only into namespaces that exist, and a body may not name another namespace', async () => {
    const put = await p.call('/v1/functions/x?namespace=ghost', { method: 'PUT', body: '{}', headers: { 'content-type': 'application/json' } })
    expect(put.json().error).toBe('KILN_ERR_NAMESPACE_NOT_FOUND')
    const fn = (await p.call('/v1/functions/hello?namespace=team-a')).json()
    const mismatch = await p.call('/v1/functions/hello?namespace=team-b', { method: 'PUT', body: JSON.stringify({ metadata: fn.metadata, spec: fn.spec }), headers: { 'content-type': 'application/json' } })
    expect(mismatch.status).toBe(400)
    expect(mismatch.json().error).toBe('KILN_ERR_VALIDATION')
    expect(mismatch.json().message).toContain('metadata.namespace')
  })

  it('a namespace with resources is deleted only with cascade, which deletes them; default is never deleted', async () => {
    await createNamespace(p, 'short-lived')
    await p.deploy('temp', HELLO, {}, 'short-lived')
    expect((await as(p, undefined, 'GET', '/ns/short-lived/fn/temp')).status).toBe(200)
    const refused = await p.call('/v1/namespaces/short-lived', { method: 'DELETE' })
    expect(refused.status).toBe(409)
    expect(refused.json().error).toBe('KILN_ERR_IN_USE')
    expect(refused.json().message).toContain('Function temp')
    const gone = await p.call('/v1/namespaces/short-lived?cascade=1', { method: 'DELETE' })
    expect(gone.json()).toEqual({ deleted: 'short-lived', cascaded: { Function: 1 } })
    expect((await as(p, undefined, 'GET', '/ns/short-lived/fn/temp')).json().error).toBe('KILN_ERR_FUNCTION_NOT_FOUND')
    expect((await p.call('/v1/functions?namespace=short-lived')).json().error).toBe('KILN_ERR_NAMESPACE_NOT_FOUND')
    expect((await p.call('/v1/namespaces/default', { method: 'DELETE' })).status).toBe(400)
    expect((await p.call('/v1/namespaces', { method: 'POST', body: JSON.stringify({ metadata: { name: 'team-a' }, spec: {} }), headers: { 'content-type': 'application/json' } })).json().error).toBe('KILN_ERR_ALREADY_EXISTS')
    expect((await p.call('/v1/namespaces')).json().map((n: any) => n.metadata.name)).toEqual(['default', 'team-a', 'team-b'])
  })

  it('user routes are one URL space: a clash with another namespace\'s route is refused, named to admins only', async () => {
    const route = (path: string, fn = 'hello') => ({ spec: { method: 'GET', path, function: fn } })
    expect((await as(p, p.adminToken, 'POST', '/v1/triggers?namespace=team-a', route('/shop/:item'))).status).toBe(201)
    // The route leads to team-a's hello, not default's.
    expect((await as(p, undefined, 'GET', '/shop/kiln')).json()).toEqual({ greeting: 'from team-a' })
    await p.deploy('hello', HELLO, { env: { GREETING: 'from team-b' } }, 'team-b')
    const devB = await tokenFor(p, 'developer', ['team-b'])
    const clash = await as(p, devB, 'POST', '/v1/triggers', route('/shop/:thing'))
    expect(clash.status).toBe(409)
    expect(clash.json().error).toBe('KILN_ERR_ALREADY_EXISTS')
    expect(clash.json().message).toContain('path taken')
    expect(clash.json().message).not.toContain('team-a')
    const asAdmin = await as(p, p.adminToken, 'POST', '/v1/triggers?namespace=team-b', route('/shop/:thing'))
    expect(asAdmin.json().message).toContain('namespace "team-a"')
    // Another path is fine, and a route may lead only to its own namespace's function.
    expect((await as(p, devB, 'POST', '/v1/triggers', route('/b-shop/:thing'))).status).toBe(201)
    expect((await as(p, undefined, 'GET', '/b-shop/x')).json()).toEqual({ greeting: 'from team-b' })
    expect((await as(p, devB, 'POST', '/v1/triggers', route('/b-other', 'inspect'))).json().error).toBe('KILN_ERR_VALIDATION')
    expect((await as(p, devB, 'POST', '/v1/triggers', route('/ns/team-a/fn/hello'))).json().message).toContain('reserved')
  })

  describe('private functions', () => {
    let invokerA: string

    beforeAll(async () => {
      await p.deploy('secret-inspect', INSPECT, { private: true }, 'team-a')
      await p.deploy('open-inspect', INSPECT, {}, 'team-a')
      invokerA = await tokenFor(p, 'invoker', ['team-a'])
    }, 60_000)

    it('need a token that may invoke in their namespace: 401 without, 403 for viewers and other namespaces, 200 for invoker, developer, admin', async () => {
      const call = (token: string | undefined) => as(p, token, 'GET', '/ns/team-a/fn/secret-inspect')
      const none = await call(undefined)
      expect(none.status).toBe(401)
      expect(none.json().error).toBe('KILN_ERR_UNAUTHENTICATED')
      expect(none.headers['www-authenticate']).toBe('Bearer realm="kiln"')
      expect((await call('kiln_0000000000_' + 'A'.repeat(43))).status).toBe(401)
      expect((await call(await tokenFor(p, 'viewer', ['team-a']))).json().error).toBe('KILN_ERR_FORBIDDEN')
      expect((await call(await tokenFor(p, 'invoker', ['team-b']))).json().error).toBe('KILN_ERR_FORBIDDEN')
      for (const token of [invokerA, await tokenFor(p, 'developer', ['team-a']), p.adminToken]) expect((await call(token)).status).toBe(200)
    })

    it('the caller\'s token never reaches a private function; a public one gets the caller\'s headers as sent', async () => {
      const priv = (await as(p, invokerA, 'GET', '/ns/team-a/fn/secret-inspect')).json()
      expect(priv.headers.authorization).toBeUndefined()
      const pub = (await as(p, 'not-a-platform-token', 'GET', '/ns/team-a/fn/open-inspect')).json()
      expect(pub.headers.authorization).toBe('Bearer not-a-platform-token')
    })

    it('a workflow calls its own namespace\'s functions, private ones too, and the platform\'s token never reaches them', async () => {
      const wf = { name: 'peek', tasks: { look: { function: 'secret-inspect' } }, output: '{{ $.tasks.look.output }}' }
      expect((await as(p, p.adminToken, 'PUT', '/v1/workflows/peek?namespace=team-a', wf)).status).toBe(201)
      // Names resolve in the workflow's namespace: default has no secret-inspect.
      expect((await as(p, p.adminToken, 'PUT', '/v1/workflows/peek', wf)).json().error).toBe('KILN_ERR_VALIDATION')
      const run = await as(p, undefined, 'POST', '/ns/team-a/wf/peek', {})
      expect(run.status, run.text).toBe(200)
      expect(run.json().headers.authorization).toBeUndefined()
      expect(run.json().headers['x-kiln-task']).toBe('look')
      const id = run.headers['x-kiln-execution'] as string
      // Executions belong to their workflow's namespace.
      expect((await as(p, p.adminToken, 'GET', '/v1/executions?namespace=team-a')).json().map((e: any) => e.id)).toContain(id)
      expect((await as(p, p.adminToken, 'GET', '/v1/executions')).json().map((e: any) => e.id)).not.toContain(id)
      expect((await as(p, await tokenFor(p, 'developer', ['team-b']), 'GET', `/v1/executions/${id}`)).json().error).toBe('KILN_ERR_EXECUTION_NOT_FOUND')
      expect((await as(p, await tokenFor(p, 'viewer', ['team-a']), 'GET', `/v1/executions/${id}`)).json().status).toBe('succeeded')
    })
  })
})

describe('the control API on its own listener', () => {
  let p: TestPlatform

  beforeAll(async () => {
    await buildNodeRuntime()
    p = await startTestPlatform({ poolSize: 1, cgroups: 'none', apiHost: '127.0.0.1', apiPort: 0 })
    await p.deploy('hello', HELLO, { env: { GREETING: 'hi' } })
  }, 60_000)
  afterAll(async () => { await p?.stop() })

  it('the data plane answers /v1 and /metrics with 404; the API listener serves them (and functions too)', async () => {
    expect(p.apiUrl).not.toBe(p.url)
    const raw = async (base: string, path: string) => {
      const { request } = await import('undici')
      const r = await request(`${base}${path}`, { headers: { authorization: `Bearer ${p.adminToken}` } })
      return { status: r.statusCode, text: await r.body.text() }
    }
    expect((await raw(p.url, '/v1/whoami')).status).toBe(404)
    expect(JSON.parse((await raw(p.url, '/v1/functions')).text).error).toBe('KILN_ERR_ROUTE_NOT_FOUND')
    expect((await raw(p.url, '/metrics')).status).toBe(404)
    expect((await raw(p.apiUrl, '/v1/whoami')).status).toBe(200)
    expect((await raw(p.apiUrl, '/metrics')).text).toContain('# HELP')
    expect(JSON.parse((await raw(p.url, '/fn/hello')).text)).toEqual({ greeting: 'hi' })
    expect(JSON.parse((await raw(p.apiUrl, '/fn/hello')).text)).toEqual({ greeting: 'hi' })
    expect((await raw(p.url, '/healthz')).status).toBe(200)
  })
})

describe('private functions where the sandbox is incomplete', () => {
  let p: TestPlatform

  beforeAll(async () => {
    await buildNodeRuntime()
    // A machine whose sandbox lacks a protection (a fake report: the sandbox is not part of this platform yet).
    const missingUid = { missing: () => [{ name: 'uid', detail: 'instances share the platform\'s uid' }] }
    p = await startTestPlatform({ poolSize: 1, cgroups: 'none' }, undefined, { protections: missingUid })
    await createNamespace(p, 'team-a')
    await createNamespace(p, 'trusting', { allowPrivateWithoutSandbox: true })
  }, 60_000)
  afterAll(async () => { await p?.stop() })

  it('are refused outside default, naming the missing protection, unless the namespace opted in', async () => {
    await expect(p.deploy('priv', HELLO, { private: true }, 'team-a')).rejects.toThrow(/403.*KILN_ERR_FORBIDDEN.*uid/)
    expect((await p.call('/v1/functions?namespace=team-a')).json()).toEqual([])
    await p.deploy('priv', HELLO, { private: true }, 'trusting')
    await p.deploy('priv', HELLO, { private: true })
    await p.deploy('pub', HELLO, {}, 'team-a')
    expect((await p.call('/v1/functions?namespace=*')).json().map((f: any) => `${f.metadata.namespace}/${f.metadata.name}`).sort()).toEqual(['default/priv', 'team-a/pub', 'trusting/priv'])
  })
})
