// /v1/secrets: named keys a function reads as files inside its sandbox (and, when it asks, as
// environment variables). Bodies are Kubernetes-like (`data` base64, `stringData` text); answers name
// the keys and their sizes and the functions that use the secret, never a value. A change rolls the
// functions that use it, as a deploy does, and answers once they serve with the new values.
import type { FastifyInstance } from 'fastify'
import { KilnError } from '../core/errors.js'
import { isName, refOf, refOfMeta } from '../core/refs.js'
import { describeRef, notFound } from '../core/store/resource-store.js'
import { listsSecret, type SecretInfo } from '../core/store/secret-store.js'
import type { ControlContext } from './context.js'
import { deleted } from './namespaced.js'

interface SecretBody { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown; namespace?: unknown }; data?: unknown; stringData?: unknown }

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
const truthy = (v: string | undefined) => v !== undefined && v !== '0' && v !== 'false'

export async function secretRoutes(app: FastifyInstance, c: ControlContext): Promise<void> {
  const users = (ns: string, name: string) => c.functions.list().filter((f) => listsSecret(f, ns, name))

  const view = (s: SecretInfo) => ({
    apiVersion: 'kiln.dev/v1', kind: 'Secret',
    metadata: { name: s.name, namespace: s.namespace, createdAt: s.createdAt, updatedAt: s.updatedAt },
    keys: s.keys,
    usedBy: users(s.namespace, s.name).map((f) => f.metadata.name),
  })

  /** The body's name and values, checked; values never appear in an error. */
  function parse(body: SecretBody | undefined, ns: string, urlName?: string): { name: string; data: Map<string, Buffer> } {
    const b = body ?? {}
    const name = b.metadata?.name ?? urlName
    if (typeof name !== 'string' || !isName(name)) throw new KilnError('KILN_ERR_VALIDATION', 'metadata.name: must be lower-case letters, digits and dashes')
    if (urlName !== undefined && name !== urlName) throw new KilnError('KILN_ERR_VALIDATION', `metadata.name: "${name}" does not match the URL's "${urlName}"`)
    if (b.metadata?.namespace !== undefined && b.metadata.namespace !== ns) throw new KilnError('KILN_ERR_VALIDATION', `metadata.namespace: "${String(b.metadata.namespace)}" is not the request's namespace "${ns}"`)
    const data = new Map<string, Buffer>()
    const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
    if (b.data !== undefined) {
      if (!isMap(b.data)) throw new KilnError('KILN_ERR_VALIDATION', 'data: a map of key to base64 value')
      for (const [k, v] of Object.entries(b.data)) {
        if (typeof v !== 'string' || !BASE64.test(v)) throw new KilnError('KILN_ERR_VALIDATION', `data.${k}: not base64`)
        data.set(k, Buffer.from(v, 'base64'))
      }
    }
    if (b.stringData !== undefined) {
      if (!isMap(b.stringData)) throw new KilnError('KILN_ERR_VALIDATION', 'stringData: a map of key to text value')
      for (const [k, v] of Object.entries(b.stringData)) {
        if (typeof v !== 'string') throw new KilnError('KILN_ERR_VALIDATION', `stringData.${k}: must be a string`)
        data.set(k, Buffer.from(v, 'utf8'))
      }
    }
    return { name, data }
  }

  /** Waits until every function using the secret serves with its new values (as a deploy does). */
  async function rolled(ns: string, name: string): Promise<void> {
    await Promise.all(users(ns, name).map((f) => c.live.whenApplied(refOfMeta(f.metadata))))
  }

  app.get('/secrets', async (req) => c.secrets.list().filter((s) => req.kiln.shows(s.namespace)).map(view))

  app.post<{ Body: SecretBody | undefined }>('/secrets', async (req, reply) => {
    const ns = req.kiln.namespace
    const { name, data } = parse(req.body, ns)
    const info = await c.secrets.put(refOf(ns, name), data, 'create')
    return reply.status(201).send(view(info))
  })

  app.put<{ Params: { name: string }; Body: SecretBody | undefined }>('/secrets/:name', async (req) => {
    const ns = req.kiln.namespace
    const { name, data } = parse(req.body, ns, req.params.name)
    const info = await c.secrets.put(refOf(ns, name), data, 'update')
    await rolled(ns, name)
    return view(info)
  })

  app.get<{ Params: { name: string } }>('/secrets/:name', async (req) => {
    const ref = refOf(req.kiln.namespace, req.params.name)
    const s = c.secrets.get(ref)
    if (!s) throw notFound('Secret', ref)
    return view(s)
  })

  app.delete<{ Params: { name: string }; Querystring: { cascade?: string } }>('/secrets/:name', async (req) => {
    const ns = req.kiln.namespace
    const name = req.params.name
    const ref = refOf(ns, name)
    if (!c.secrets.get(ref)) throw notFound('Secret', ref)
    const using = users(ns, name)
    if (using.length && !truthy(req.query.cascade)) {
      throw new KilnError('KILN_ERR_IN_USE', `secret ${describeRef(ref)} is used by function ${using.map((f) => `"${f.metadata.name}"`).join(', ')}`,
        { hint: 'deploy them without it first, or delete with --cascade, which removes it from them' })
    }
    // --cascade: the functions stop listing it (and roll without it) before it goes.
    for (const f of using) {
      const spec = { ...f.spec, secrets: (f.spec.secrets ?? []).filter((s) => s !== name), secretEnv: (f.spec.secretEnv ?? []).filter((e) => e.secret !== name) }
      if (spec.secrets.length === 0) delete (spec as Partial<typeof spec>).secrets
      if (spec.secretEnv.length === 0) delete (spec as Partial<typeof spec>).secretEnv
      await c.functions.put({ ...f, spec })
    }
    await Promise.all(using.map((f) => c.live.whenApplied(refOfMeta(f.metadata))))
    await c.secrets.delete(ref)
    return { ...deleted({ name, namespace: ns }), ...(using.length ? { removedFrom: using.map((f) => f.metadata.name) } : {}) }
  })
}
