// What each role should get on each control-API route, written out from docs/security.md
// independently of core/auth/roles.ts, so the tests that compare the two can fail.
import type { Role } from '../../core/auth/token.js'

/** Routes only admins call: anything that picks a command or a machine resource, and identity itself. */
const ADMIN_ONLY = /^(GET|POST|PUT|DELETE) \/(runtimes|pools|nodes|instances|namespaces|tokens)\b|^(GET \/packages|DELETE \/packages\/:sha)$|\/(isolate|release)$/
/** Routes anyone may call, without a token. */
const PUBLIC = /^GET \/(openapi\.json|version)$/
/** What a viewer may not read: function output (logs). */
const NOT_FOR_VIEWERS = /\/logs$/

export type Expect = 'allow' | 'forbid'

/** What `role` should get on `route` ("GET /functions/:name"), in the token's namespace (`home`) or another one. */
export function expected(role: Role, route: string, home: boolean): Expect {
  const [method] = route.split(' ')
  if (role === 'admin') return 'allow'
  if (route === 'GET /whoami') return 'allow'
  // The API's own description and the server's version need no token at all.
  if (PUBLIC.test(route)) return 'allow'
  if (role === 'invoker') return 'forbid'
  if (ADMIN_ONLY.test(route)) return 'forbid'
  if (!home) return 'forbid'
  if (role === 'viewer') return method === 'GET' && !NOT_FOR_VIEWERS.test(route) ? 'allow' : 'forbid'
  return 'allow'
}
