// The one authorization table, checked against what the roles are meant to be (docs/security.md),
// written out here independently of core/auth/roles.ts: every route × every role × in / out of the
// token's namespaces. The API test (test/integration/tenancy/api-access.test.ts) sends the same matrix
// over HTTP.
import { describe, expect, it } from 'vitest'
import type { Identity } from '../../../core/auth/authenticate.js'
import { KilnError } from '../../../core/errors.js'
import { authorize, ROUTES, type Access } from '../../../controller/authz.js'
import { expected, type Expect } from '../../helpers/access-matrix.js'

const who = (role: Identity['role']): Identity => ({ id: 't', role, namespaces: role === 'admin' ? ['*'] : ['team-a'] })
const env = { namespaceExists: () => true, packageNamespaces: () => ['team-a'] }
const outcome = (r: Access | KilnError): Expect | string => (r instanceof KilnError ? (r.code === 'KILN_ERR_FORBIDDEN' ? 'forbid' : r.code) : 'allow')

describe('the authorization table', () => {
  const routes = Object.keys(ROUTES)

  it('names every route once, with a resource and a verb', () => {
    expect(routes.length).toBeGreaterThan(40)
    for (const r of routes) expect(r).toMatch(/^(GET|POST|PUT|DELETE) \/[a-z/:.]+$/)
  })

  for (const role of ['admin', 'developer', 'viewer', 'invoker'] as const) {
    it(`${role}: every route, in its namespace and in another`, () => {
      const got: string[] = []
      const want: string[] = []
      for (const route of routes) {
        const rule = ROUTES[route]!
        // A package is read by namespaces of the functions that use it (team-a here): "another" is none.
        const inHome = outcome(authorize(who(role), rule, { namespace: 'team-a', sha: 'x' }, env))
        const elsewhere = rule.byPackage
          ? outcome(authorize(who(role), rule, { sha: 'x' }, { ...env, packageNamespaces: () => ['team-b'] }))
          : outcome(authorize(who(role), rule, { namespace: 'team-b', sha: 'x' }, env))
        got.push(`${route}: ${inHome} / ${elsewhere}`)
        want.push(`${route}: ${expected(role, route, true)} / ${expected(role, route, false)}`)
      }
      expect(got).toEqual(want)
    })
  }

  it('a token with one namespace acts there by default; an admin in default; a missing namespace is 404; * only for lists', () => {
    const list = ROUTES['GET /functions']!
    const one = authorize(who('developer'), list, {}, env) as Access
    expect(one.namespace).toBe('team-a')
    expect((authorize(who('admin'), list, {}, env) as Access).namespace).toBe('default')
    const multi: Identity = { id: 't', role: 'viewer', namespaces: ['team-a', 'team-b'] }
    expect((authorize(multi, list, {}, env) as KilnError).code).toBe('KILN_ERR_FORBIDDEN') // default is not one of its
    const all = authorize(multi, list, { namespace: '*' }, env) as Access
    expect([all.shows('team-a'), all.shows('team-b'), all.shows('team-c')]).toEqual([true, true, false])
    expect((authorize(multi, ROUTES['GET /functions/:name']!, { namespace: '*' }, env) as KilnError).code).toBe('KILN_ERR_BAD_REQUEST')
    expect((authorize(who('admin'), list, { namespace: 'ghost' }, { ...env, namespaceExists: () => false }) as KilnError).code).toBe('KILN_ERR_NAMESPACE_NOT_FOUND')
    // Not found is said only to those who may act there.
    expect((authorize(who('developer'), list, { namespace: 'ghost' }, { ...env, namespaceExists: () => false }) as KilnError).code).toBe('KILN_ERR_FORBIDDEN')
    expect((authorize(who('developer'), list, { namespace: 'Bad_Name' }, env) as KilnError).code).toBe('KILN_ERR_BAD_REQUEST')
  })

  it('a 403 names the role or namespace that is missing', () => {
    const e = authorize(who('developer'), ROUTES['POST /runtimes']!, {}, env) as KilnError
    expect(e.message).toContain('admin')
    const f = authorize(who('developer'), ROUTES['GET /functions']!, { namespace: 'team-b' }, env) as KilnError
    expect(f.message).toContain('team-b')
  })
})
