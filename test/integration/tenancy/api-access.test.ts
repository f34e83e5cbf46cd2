// Every /v1 route over HTTP, driven from the one authorization table (controller/authz.ts ROUTES):
// without a token 401 (with WWW-Authenticate), and for each role, in its namespace and in another,
// 403 KILN_ERR_FORBIDDEN exactly where docs/security.md says (test/helpers/access-matrix.ts), else the
// route's own answer. Packages are read by the namespaces of the functions that use them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROUTES } from '../../../controller/authz.js'
import { buildNodeRuntime } from '../../helpers/build-runtime.js'
import { expected } from '../../helpers/access-matrix.js'
import { startTestPlatform, type TestPlatform } from '../../helpers/platform.js'
import { as, createNamespace, tokenFor } from '../../helpers/tenancy.js'
import { join } from 'node:path'

const HELLO = join(import.meta.dirname, '..', '..', 'fixtures', 'tenancy', 'hello-ns.mjs')

/** A concrete URL for a route pattern; harmless names (nothing by them exists). */
function concrete(route: string, namespace?: string): { method: string; path: string } {
  const [method, pattern] = route.split(' ') as [string, string]
  const path = `/v1${pattern.replace(':sha', 'a'.repeat(64)).replace(':runtime', 'no-such-runtime').replace(/:[a-z]+/g, 'no-such-thing')}`
  return { method, path: namespace ? `${path}?namespace=${namespace}` : path }
}

describe('the control API\'s access, route by route', () => {
  let p: TestPlatform
  const tokens: Record<string, string> = {}

  beforeAll(async () => {
    await buildNodeRuntime()
    p = await startTestPlatform({ poolSize: 1, cgroups: 'none' })
    await createNamespace(p, 'team-a')
    await createNamespace(p, 'team-b')
    tokens.admin = p.adminToken
    for (const role of ['developer', 'viewer', 'invoker']) tokens[role] = await tokenFor(p, role, ['team-a'])
  }, 60_000)
  afterAll(async () => { await p?.stop() })

  it('no token, or a token that is not one: 401 KILN_ERR_UNAUTHENTICATED with WWW-Authenticate, on every route', async () => {
    for (const route of Object.keys(ROUTES)) {
      const { method, path } = concrete(route)
      if (ROUTES[route].public) {
        // The API's own description needs no token.
        expect(`${route} ${(await as(p, undefined, method, path)).status}`).toBe(`${route} 200`)
        continue
      }
      for (const token of [undefined, 'kiln_0000000000_' + 'A'.repeat(43)]) {
        const r = await as(p, token, method, path, method === 'GET' || method === 'DELETE' ? undefined : {})
        expect(`${route} ${r.status} ${r.json().error}`).toBe(`${route} 401 KILN_ERR_UNAUTHENTICATED`)
        expect(r.headers['www-authenticate']).toBe('Bearer realm="kiln"')
      }
    }
    expect((await as(p, undefined, 'GET', '/v1/no-such-route')).status).toBe(401)
  })

  for (const role of ['admin', 'developer', 'viewer', 'invoker'] as const) {
    it(`${role}: 403 exactly where the table says, in its namespace (team-a) and in another (team-b)`, async () => {
      const got: string[] = []
      const want: string[] = []
      for (const route of Object.keys(ROUTES)) {
        for (const [ns, home] of [['team-a', true], ['team-b', false]] as const) {
          const { method, path } = concrete(route, ns)
          const r = await as(p, tokens[role], method, path, method === 'GET' || method === 'DELETE' ? undefined : {})
          const outcome = r.status === 403 ? `forbid ${r.json().error}` : r.status === 401 ? 'unauthenticated' : 'allow'
          got.push(`${route} in ${ns}: ${outcome}`)
          // No function uses the package asked for: only an admin may read it, from anywhere.
          const w = ROUTES[route]!.byPackage ? (role === 'admin' ? 'allow' : 'forbid') : expected(role, route, home)
          want.push(`${route} in ${ns}: ${w === 'forbid' ? 'forbid KILN_ERR_FORBIDDEN' : 'allow'}`)
        }
      }
      expect(got).toEqual(want)
    }, 120_000)
  }

  it('a package is served to the namespaces whose functions use it, and to admins; not to other namespaces', async () => {
    const fn = await p.deploy('uses-pkg', HELLO, {}, 'team-a')
    const sha = (fn.spec as { package: { sha256: string } }).package.sha256
    const dev = tokens.developer!
    const devB = await tokenFor(p, 'developer', ['team-b'])
    expect((await as(p, dev, 'GET', `/v1/packages/${sha}`)).status).toBe(200)
    expect((await as(p, tokens.viewer, 'GET', `/v1/packages/${sha}`)).status).toBe(200)
    expect((await as(p, devB, 'GET', `/v1/packages/${sha}`)).json().error).toBe('KILN_ERR_FORBIDDEN')
    expect((await as(p, tokens.invoker, 'GET', `/v1/packages/${sha}`)).json().error).toBe('KILN_ERR_FORBIDDEN')
    expect((await as(p, p.adminToken, 'GET', `/v1/packages/${sha}`)).status).toBe(200)
    // A signed URL is for pods that download their code; on the embedded platform none is accepted.
    expect((await as(p, undefined, 'GET', `/v1/packages/${sha}?sig=abc`)).json().error).toBe('KILN_ERR_FORBIDDEN')
  })

  it('tokens: created once (the token is in the answer only), listed without hashes, revoked at once; the last admin token stays', async () => {
    const made = await as(p, p.adminToken, 'POST', '/v1/tokens', { role: 'viewer', namespaces: ['team-b'], name: 'dash', expiresIn: '30d' })
    expect(made.status).toBe(201)
    const { token, id, expiresAt } = made.json()
    expect(Date.parse(expiresAt) - Date.now()).toBeGreaterThan(29 * 86_400_000)
    const listed = await as(p, p.adminToken, 'GET', '/v1/tokens')
    expect(listed.text).not.toContain(token.slice(16))
    expect(listed.text).not.toContain('"hash"')
    expect(listed.json().find((t: { id: string }) => t.id === id)).toMatchObject({ role: 'viewer', namespaces: ['team-b'], name: 'dash' })
    expect((await as(p, token, 'GET', '/v1/whoami')).json()).toMatchObject({ id, role: 'viewer', namespaces: ['team-b'], defaultNamespace: 'team-b' })
    expect((await as(p, p.adminToken, 'DELETE', `/v1/tokens/${id}`)).json()).toEqual({ deleted: id })
    expect((await as(p, token, 'GET', '/v1/whoami')).json().error).toBe('KILN_ERR_UNAUTHENTICATED')
    expect((await as(p, p.adminToken, 'DELETE', `/v1/tokens/${id}`)).json().error).toBe('KILN_ERR_TOKEN_NOT_FOUND')
    // Bad input: 400 naming the field, nothing stored.
    const before = (await as(p, p.adminToken, 'GET', '/v1/tokens')).json().length
    for (const bad of [{ role: 'root' }, { role: 'developer', namespaces: 'team-a' }, { role: 'developer', namespaces: ['Bad!'] }, { role: 'viewer', expiresIn: 'soon' }]) {
      expect((await as(p, p.adminToken, 'POST', '/v1/tokens', bad)).json().error).toBe('KILN_ERR_VALIDATION')
    }
    expect((await as(p, p.adminToken, 'POST', '/v1/tokens', { role: 'viewer', namespaces: ['ghost'] })).json().error).toBe('KILN_ERR_NAMESPACE_NOT_FOUND')
    expect((await as(p, p.adminToken, 'GET', '/v1/tokens')).json().length).toBe(before)
    const me = (await as(p, p.adminToken, 'GET', '/v1/whoami')).json().id
    expect((await as(p, p.adminToken, 'DELETE', `/v1/tokens/${me}`)).json().error).toBe('KILN_ERR_IN_USE')
  })

  it('the first admin token is kept across a restart, and no second one is made', async () => {
    const before = (await as(p, p.adminToken, 'GET', '/v1/tokens')).json().filter((t: { role: string }) => t.role === 'admin').length
    const q = await startTestPlatform({ poolSize: 0, cgroups: 'none' }, p.dataDir).catch((e) => { throw e })
    try {
      // The same data dir (a second platform on it, as a restart would see it).
      expect(q.adminToken).toBe(p.adminToken)
      expect((await as(q, q.adminToken, 'GET', '/v1/tokens')).json().filter((t: { role: string }) => t.role === 'admin').length).toBe(before)
    } finally {
      await q.close()
    }
  })
})
