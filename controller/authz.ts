// Who may call which control-API route, decided in this one place. ROUTES names the resource and verb
// each route needs (one line per route; a route without a line fails the platform's start, so nothing
// is reachable by accident); core/auth/roles.ts says what each role is granted. One hook before every
// `/v1` handler: the bearer token (401 KILN_ERR_UNAUTHENTICATED), the namespace the request acts in
// (`?namespace=`, else the token's only namespace, else `default`; `*` lists every namespace the token
// reads), the role and namespace (403 KILN_ERR_FORBIDDEN naming what is missing), the namespace's
// existence (404). Handlers read the outcome from `request.kiln`.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Authenticator, Identity } from '../core/auth/authenticate.js'
import { covers, grants, isNamespaced, type ApiResource, type Verb } from '../core/auth/roles.js'
import { KilnError } from '../core/errors.js'
import { DEFAULT_NAMESPACE, isName } from '../core/refs.js'

export interface Rule {
  resource: ApiResource
  verb: Verb
  /** A list: `?namespace=*` lists every namespace the token may read. */
  list?: true
  /** The namespaces are those of the functions that use the package `:sha` (GET /packages/:sha); a signed package URL (`?sig=`) also reads it. */
  byPackage?: true
  /** Needs no token (the API's own description). */
  public?: true
}

const read = (resource: ApiResource, more: Partial<Rule> = {}): Rule => ({ resource, verb: 'read', ...more })
const write = (resource: ApiResource): Rule => ({ resource, verb: 'write' })
const list = (resource: ApiResource): Rule => ({ resource, verb: 'read', list: true })

/** Every `/v1` route (method and path as registered, without `/v1`) → what it needs. */
export const ROUTES: Record<string, Rule> = {
  'GET /whoami': read('whoami'),
  'GET /openapi.json': read('whoami', { public: true }),
  'GET /version': read('whoami', { public: true }),

  'GET /functions': list('functions'),
  'POST /functions': write('functions'),
  'GET /functions/:name': read('functions'),
  'PUT /functions/:name': write('functions'),
  'DELETE /functions/:name': write('functions'),
  'GET /functions/:name/logs': read('logs'),
  'POST /functions/:name/isolate': write('isolation'),
  'POST /functions/:name/release': write('isolation'),

  'GET /triggers': list('routes'),
  'POST /triggers': write('routes'),
  'GET /triggers/:name': read('routes'),
  'PUT /triggers/:name': write('routes'),
  'DELETE /triggers/:name': write('routes'),

  'GET /workflows': list('workflows'),
  'POST /workflows': write('workflows'),
  'GET /workflows/:name': read('workflows'),
  'PUT /workflows/:name': write('workflows'),
  'DELETE /workflows/:name': write('workflows'),
  'POST /workflows/:name/executions': write('executions'),
  'GET /executions': list('executions'),
  'GET /executions/:id': read('executions'),
  'GET /executions/:id/events': read('executions'),
  'POST /executions/:id/cancel': write('executions'),

  'GET /invocations': list('invocations'),
  'GET /invocations/:id': read('invocations'),
  'POST /invocations/:id/retry': write('invocations'),
  'POST /invocations/:id/cancel': write('invocations'),

  'GET /crontriggers': list('triggers'),
  'POST /crontriggers': write('triggers'),
  'GET /crontriggers/:name': read('triggers'),
  'PUT /crontriggers/:name': write('triggers'),
  'DELETE /crontriggers/:name': write('triggers'),

  'GET /mqtriggers': list('triggers'),
  'POST /mqtriggers': write('triggers'),
  'GET /mqtriggers/:name': read('triggers'),
  'PUT /mqtriggers/:name': write('triggers'),
  'DELETE /mqtriggers/:name': write('triggers'),

  'GET /secrets': list('secrets'),
  'POST /secrets': write('secrets'),
  'GET /secrets/:name': read('secrets'),
  'PUT /secrets/:name': write('secrets'),
  'DELETE /secrets/:name': write('secrets'),

  'GET /events': list('events'),

  // The console (docs/console.md): its live stream carries only what the token reads, topic by topic.
  'GET /watch': list('functions'),
  'GET /functions/:name/series': read('functions'),

  'POST /packages': write('packages'),
  'GET /packages/:sha': read('packages', { byPackage: true }),
  'GET /packages': read('packages-all'),
  'DELETE /packages/:sha': write('packages-all'),

  'GET /runtimes': read('runtimes'),
  'POST /runtimes': write('runtimes'),
  'GET /runtimes/:name': read('runtimes'),
  'PUT /runtimes/:name': write('runtimes'),
  'DELETE /runtimes/:name': write('runtimes'),
  'GET /pools': read('pools'),
  'PUT /pools/:runtime': write('pools'),
  'GET /nodes': read('nodes'),
  'GET /instances': read('instances'),

  'GET /namespaces': read('namespaces'),
  'POST /namespaces': write('namespaces'),
  'GET /namespaces/:name': read('namespaces'),
  'PUT /namespaces/:name': write('namespaces'),
  'DELETE /namespaces/:name': write('namespaces'),

  'GET /tokens': read('tokens'),
  'POST /tokens': write('tokens'),
  'DELETE /tokens/:id': write('tokens'),

  // Releases (docs/releases.md): a function's versions and what serves it are the function's.
  'GET /functions/:name/versions': read('functions'),
  'GET /functions/:name/versions/:version': read('functions'),
  'POST /functions/:name/rollback': write('functions'),
  'GET /functions/:name/traffic': read('functions'),
  'PUT /functions/:name/traffic': write('functions'),
  'PUT /functions/:name/aliases/:alias': write('functions'),
  'DELETE /functions/:name/aliases/:alias': write('functions'),
  'POST /functions/:name/canary': write('functions'),
  'GET /functions/:name/canary': read('functions'),
  'DELETE /functions/:name/canary': write('functions'),
}

/** What a request may see and where it acts, once the hook let it through. */
export interface Access {
  readonly identity: Identity
  /** The namespace a single-object request acts in (`default` for cluster-wide resources). */
  readonly namespace: string
  /** For lists: is an object of this namespace shown? */
  shows(namespace: string): boolean
  /** `?namespace=*` was asked. */
  readonly all: boolean
  /** For objects found by a global id (an execution): does the token act in their namespace at all? */
  covers(namespace: string): boolean
}

declare module 'fastify' {
  interface FastifyRequest { kiln: Access }
}

export interface AuthzOptions {
  auth: Authenticator
  /** Checks `?sig=` of package URLs handed to instances (core/auth/package-signature.ts); none: not accepted. */
  packageSignature?: { verify(sha256: string, sig: string): boolean }
  namespaceExists(ns: string): boolean
  /** Namespaces with a function using this package. */
  packageNamespaces(sha: string): string[]
}

/** The rule of a registered route; HEAD is GET. */
export function ruleFor(method: string, url: string): Rule | undefined {
  return ROUTES[`${method === 'HEAD' ? 'GET' : method} ${url}`]
}

/** The decision for one request, without fastify: the access it gets, or the catalogue error. */
export function authorize(identity: Identity, rule: Rule, q: { namespace?: string; sha?: string }, o: Pick<AuthzOptions, 'namespaceExists' | 'packageNamespaces'>): Access | KilnError {
  const { role, namespaces } = identity
  const mine = `role ${role}${namespaces.includes('*') ? '' : ` in ${namespaces.join(', ') || 'no namespace'}`}`
  const forbidden = (what: string) => new KilnError('KILN_ERR_FORBIDDEN', `${what} (the token has ${mine})`)
  if (!grants(role, rule.resource, rule.verb)) {
    const allowed = (['developer', 'viewer', 'invoker'] as const).filter((r) => grants(r, rule.resource, rule.verb))
    return forbidden(`${rule.verb} of ${rule.resource} needs role ${['admin', ...allowed].join(' or ')}`)
  }
  if (!isNamespaced(rule.resource)) {
    // Only admins get here (cluster-wide grants); `?namespace=` still names where a function is (isolate).
    const ns = q.namespace !== undefined && isName(q.namespace) ? q.namespace : DEFAULT_NAMESPACE
    return { identity, namespace: ns, all: true, shows: () => true, covers: () => true }
  }
  if (rule.byPackage) {
    const users = o.packageNamespaces(q.sha ?? '')
    if (!namespaces.includes('*') && !users.some((ns) => covers(namespaces, ns))) {
      return forbidden('this package is not used by a function in the token\'s namespaces')
    }
    return { identity, namespace: DEFAULT_NAMESPACE, all: false, shows: (ns) => covers(namespaces, ns), covers: (ns) => covers(namespaces, ns) }
  }
  const asked = q.namespace
  if (asked === '*') {
    if (!rule.list) return new KilnError('KILN_ERR_BAD_REQUEST', 'namespace=* is for lists; name one namespace')
    return { identity, namespace: DEFAULT_NAMESPACE, all: true, shows: (ns) => covers(namespaces, ns), covers: (ns) => covers(namespaces, ns) }
  }
  if (asked !== undefined && !isName(asked)) return new KilnError('KILN_ERR_BAD_REQUEST', `namespace "${asked}": lower-case letters, digits and dashes`)
  const ns = asked ?? (namespaces.length === 1 && namespaces[0] !== '*' ? namespaces[0] : DEFAULT_NAMESPACE)
  if (!covers(namespaces, ns)) return forbidden(`namespace "${ns}" is not one of the token's`)
  if (!o.namespaceExists(ns)) return new KilnError('KILN_ERR_NAMESPACE_NOT_FOUND', `namespace "${ns}" does not exist`)
  return { identity, namespace: ns, all: false, shows: (n) => n === ns, covers: (n) => covers(namespaces, n) }
}

/** Installs the hook on the `/v1` scope; call before any route is registered there. */
export function installAuthz(app: FastifyInstance, prefix: string, o: AuthzOptions): void {
  app.decorateRequest('kiln', null as unknown as Access)
  app.addHook('onRoute', (r) => {
    const url = r.url.startsWith(prefix) ? r.url.slice(prefix.length) : r.url
    for (const m of Array.isArray(r.method) ? r.method : [r.method]) {
      if (!ruleFor(m, url)) throw new Error(`${m} ${prefix}${url} has no line in controller/authz.ts ROUTES: every control-API route needs one`)
    }
  })
  app.addHook('onRequest', async (req: FastifyRequest, reply) => {
    const url = req.routeOptions.url
    const rule = url === undefined ? undefined : ruleFor(req.method, url.slice(prefix.length))
    if (rule?.public) {
      req.kiln = { identity: { id: 'anonymous', role: 'viewer', namespaces: [] }, namespace: DEFAULT_NAMESPACE, all: false, shows: () => false, covers: () => false }
      return
    }
    const sig = (req.query as { sig?: unknown }).sig
    if (rule?.byPackage && typeof sig === 'string' && !req.headers.authorization) {
      // An instance downloading its own code: the signature reads this one package, nothing else.
      const sha = (req.params as { sha?: string }).sha ?? ''
      if (!o.packageSignature?.verify(sha, sig)) throw new KilnError('KILN_ERR_FORBIDDEN', 'the package URL\'s signature is not valid for this package')
      req.kiln = { identity: { id: 'package-url', role: 'viewer', namespaces: [] }, namespace: DEFAULT_NAMESPACE, all: false, shows: () => false, covers: () => false }
      return
    }
    const who = o.auth.identify(req.headers.authorization)
    if (who instanceof KilnError) {
      void reply.header('www-authenticate', 'Bearer realm="kiln"')
      throw who
    }
    // An unknown path: authenticated callers get the 404 that follows; nobody learns more.
    if (rule === undefined) { req.kiln = { identity: who, namespace: DEFAULT_NAMESPACE, all: false, shows: () => false, covers: () => false }; return }
    const query = req.query as { namespace?: string }
    const params = req.params as { sha?: string }
    const access = authorize(who, rule, { namespace: query.namespace, sha: params.sha }, o)
    if (access instanceof KilnError) throw access
    req.kiln = access
  })
}
