// /v1/namespaces (admins): the teams' namespaces and their settings. `default` always exists. A
// namespace with resources in it is deleted only with `?cascade=1`, which deletes them first (routes,
// triggers and workflows before the functions they lead to, secrets last).
import type { FastifyInstance } from 'fastify'
import { KilnError } from '../core/errors.js'
import { DEFAULT_NAMESPACE, refOfMeta } from '../core/refs.js'
import { notFound } from '../core/store/resource-store.js'
import type { NamespaceResource } from '../core/types.js'
import { validateResource } from '../core/validate.js'
import type { ControlContext } from './context.js'

const truthy = (v: string | undefined) => v !== undefined && v !== '0' && v !== 'false'

/** The built-in namespace, present whether or not it is stored. */
export const DEFAULT_NAMESPACE_RESOURCE: NamespaceResource = { apiVersion: 'kiln.dev/v1', kind: 'Namespace', metadata: { name: DEFAULT_NAMESPACE }, spec: {} }

export async function namespaceRoutes(app: FastifyInstance, c: ControlContext): Promise<void> {
  const get = (name: string) => c.namespaces.get(name) ?? (name === DEFAULT_NAMESPACE ? DEFAULT_NAMESPACE_RESOURCE : undefined)

  /** What lives in the namespace, by kind (what refers to others first). */
  function contents(ns: string): { kind: string; refs: string[] }[] {
    const out = c.namespaced.map(({ kind, store }) => ({ kind, refs: store.list().filter((r) => r.metadata.namespace === ns).map((r) => refOfMeta(r.metadata)) }))
    out.push({ kind: 'Secret', refs: c.secrets.list().filter((s) => s.namespace === ns).map((s) => `${ns}/${s.name}`) })
    return out.filter((k) => k.refs.length > 0)
  }

  const view = (n: NamespaceResource) => {
    const inside = contents(n.metadata.name)
    return { ...n, status: { resources: Object.fromEntries(inside.map((k) => [k.kind, k.refs.length])) } }
  }

  function check(body: unknown, name?: string): NamespaceResource {
    const n = validateResource<NamespaceResource>('Namespace', body)
    if (name !== undefined && n.metadata.name !== name) throw new KilnError('KILN_ERR_VALIDATION', `metadata.name: "${n.metadata.name}" does not match the URL's "${name}"`)
    return n
  }

  app.get('/namespaces', async () => {
    const list = c.namespaces.list()
    return (list.some((n) => n.metadata.name === DEFAULT_NAMESPACE) ? list : [DEFAULT_NAMESPACE_RESOURCE, ...list]).map(view)
  })

  app.post('/namespaces', async (req, reply) => {
    const n = check(req.body)
    if (n.metadata.name === DEFAULT_NAMESPACE) throw new KilnError('KILN_ERR_ALREADY_EXISTS', 'namespace "default" always exists', { hint: 'change its settings with PUT /v1/namespaces/default' })
    return reply.status(201).send(view(await c.namespaces.create(n)))
  })

  app.put<{ Params: { name: string } }>('/namespaces/:name', async (req, reply) => {
    const existed = get(req.params.name) !== undefined
    const stored = await c.namespaces.put(check(req.body, req.params.name))
    return reply.status(existed ? 200 : 201).send(view(stored))
  })

  app.get<{ Params: { name: string } }>('/namespaces/:name', async (req) => {
    const n = get(req.params.name)
    if (!n) throw notFound('Namespace', req.params.name)
    return view(n)
  })

  app.delete<{ Params: { name: string }; Querystring: { cascade?: string } }>('/namespaces/:name', async (req) => {
    const name = req.params.name
    if (name === DEFAULT_NAMESPACE) throw new KilnError('KILN_ERR_VALIDATION', 'namespace "default" cannot be deleted')
    if (!c.namespaces.get(name)) throw notFound('Namespace', name)
    const inside = contents(name)
    if (inside.length > 0 && !truthy(req.query.cascade)) {
      const list = inside.map((k) => `${k.kind} ${k.refs.map((r) => r.slice(name.length + 1)).join(', ')}`).join('; ')
      throw new KilnError('KILN_ERR_IN_USE', `namespace "${name}" still holds: ${list}`, { hint: `delete them first, or delete everything in it with \`kiln ns delete ${name} --cascade\`` })
    }
    for (const { refs, kind } of inside) {
      for (const ref of refs) {
        if (kind === 'Secret') await c.secrets.delete(ref)
        else await c.namespaced.find((k) => k.kind === kind)!.store.delete(ref)
      }
    }
    await c.namespaces.delete(name)
    return { deleted: name, ...(inside.length ? { cascaded: Object.fromEntries(inside.map((k) => [k.kind, k.refs.length])) } : {}) }
  })
}
