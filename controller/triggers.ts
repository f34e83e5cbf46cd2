// /v1/triggers: user HTTP routes to functions or workflows of the route's own namespace. User routes are
// one URL space across namespaces: a route that would clash with another namespace's is refused.
import type { FastifyInstance } from 'fastify'
import { KilnError } from '../core/errors.js'
import { DEFAULT_NAMESPACE, refOf } from '../core/refs.js'
import { notFound } from '../core/store/resource-store.js'
import type { HTTPTriggerResource } from '../core/types.js'
import { validateResource } from '../core/validate.js'
import type { ControlContext } from './context.js'
import { deleted, inNamespace } from './namespaced.js'

const RESERVED = /^\/(v1|fn|wf|ns|async|healthz|livez|readyz|metrics|internal|ui)(\/|$)/

/** A readable default name: `get-greet-name` for GET /greet/:name. */
export function triggerName(method: string, path: string): string {
  const base = `${method}-${path}`.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '')
  return base.slice(0, 63).replace(/-+$/, '') || 'route'
}

export async function triggerRoutes(app: FastifyInstance, c: ControlContext): Promise<void> {
  /** A route to a version (`version`) or an alias (`alias`) of a function: one of them, and it exists. */
  function checkVersionTarget(t: HTTPTriggerResource, ns: string): void {
    const s = t.spec
    if (s.function === undefined) throw new KilnError('KILN_ERR_VALIDATION', 'spec: a version or an alias needs a function')
    if (s.version !== undefined && s.alias !== undefined) throw new KilnError('KILN_ERR_VALIDATION', 'spec: give a version or an alias, not both')
    const ref = refOf(ns, s.function)
    if (s.version !== undefined && !c.releases.version(ref, s.version)) throw new KilnError('KILN_ERR_VALIDATION', `spec.version: function "${s.function}" has no version ${s.version}`)
    if (s.alias !== undefined && !c.releases.traffic(ref)?.spec.aliases?.[s.alias]) throw new KilnError('KILN_ERR_VALIDATION', `spec.alias: function "${s.function}" has no alias "${s.alias}"`)
  }

  app.get('/triggers', async (req) => c.triggers.list().filter((t) => req.kiln.shows(t.metadata.namespace ?? DEFAULT_NAMESPACE)))

  /** The body as a checked route of `ns` (named from method and path when it has no name). */
  function check(body: Record<string, unknown>, ns: string, role: string, urlName?: string): HTTPTriggerResource {
    const spec = (body.spec ?? {}) as { method?: string; path?: string }
    const meta = (body.metadata ?? {}) as { name?: string }
    const withName = { ...body, metadata: { ...meta, name: meta.name ?? urlName ?? triggerName(String(spec.method ?? ''), String(spec.path ?? '')) } }
    const t = inNamespace(validateResource<HTTPTriggerResource>('HTTPTrigger', withName), ns)
    if (urlName !== undefined && t.metadata.name !== urlName) throw new KilnError('KILN_ERR_VALIDATION', `metadata.name: "${t.metadata.name}" does not match the URL's "${urlName}"`)
    if (!t.spec.function === !t.spec.workflow) throw new KilnError('KILN_ERR_VALIDATION', 'spec: give exactly one of function or workflow')
    if (RESERVED.test(t.spec.path)) throw new KilnError('KILN_ERR_VALIDATION', `spec.path: ${t.spec.path} is reserved by Kiln (/v1, /fn, /wf, /ns, /async, /healthz, /livez, /readyz, /metrics, /internal, /ui)`)
    if (t.spec.function && !c.functions.get(refOf(ns, t.spec.function))) throw new KilnError('KILN_ERR_VALIDATION', `spec.function: no function "${t.spec.function}"${ns === DEFAULT_NAMESPACE ? '' : ` in namespace "${ns}"`}`)
    if (t.spec.version !== undefined || t.spec.alias !== undefined) checkVersionTarget(t, ns)
    if (t.spec.workflow && !c.workflows.store.get(refOf(ns, t.spec.workflow))) throw new KilnError('KILN_ERR_VALIDATION', `spec.workflow: no workflow "${t.spec.workflow}"${ns === DEFAULT_NAMESPACE ? '' : ` in namespace "${ns}"`} (see \`kiln wf list\`)`)
    const clash = c.routes.conflicts(t)
    if (clash) {
      const theirs = clash.metadata.namespace ?? DEFAULT_NAMESPACE
      // Another namespace's routes are named only to admins; others learn that the path is taken.
      const where = theirs === ns ? '' : role === 'admin' ? ` in namespace "${theirs}" (route ${clash.metadata.name})` : ' (path taken)'
      throw new KilnError('KILN_ERR_ALREADY_EXISTS', `a route for ${t.spec.method} ${t.spec.path} already exists${where}`)
    }
    return t
  }

  app.post<{ Body: Record<string, unknown> }>('/triggers', async (req, reply) => {
    return reply.status(201).send(await c.triggers.create(check(req.body ?? {}, req.kiln.namespace, req.kiln.identity.role)))
  })

  // Create or replace a route by name (`kiln apply`): what the body declares is what the route becomes.
  app.put<{ Params: { name: string }; Body: Record<string, unknown> }>('/triggers/:name', async (req, reply) => {
    const t = check(req.body ?? {}, req.kiln.namespace, req.kiln.identity.role, req.params.name)
    const existed = c.triggers.get(refOf(req.kiln.namespace, req.params.name)) !== undefined
    return reply.status(existed ? 200 : 201).send(await c.triggers.put(t))
  })

  app.get<{ Params: { name: string } }>('/triggers/:name', async (req) => {
    const ref = refOf(req.kiln.namespace, req.params.name)
    const t = c.triggers.get(ref)
    if (!t) throw notFound('HTTPTrigger', ref)
    return t
  })

  app.delete<{ Params: { name: string } }>('/triggers/:name', async (req) => {
    const ref = refOf(req.kiln.namespace, req.params.name)
    const t = await c.triggers.delete(ref)
    if (!t) throw notFound('HTTPTrigger', ref)
    return deleted(t.metadata)
  })
}
