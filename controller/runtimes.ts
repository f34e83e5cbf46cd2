// /v1/runtimes: runtime definitions, each with its pool's live status.
import type { FastifyInstance } from 'fastify'
import { KilnError } from '../core/errors.js'
import { refOfMeta } from '../core/refs.js'
import { notFound } from '../core/store/resource-store.js'
import type { RuntimeResource } from '../core/types.js'
import { validateResource } from '../core/validate.js'
import type { ControlContext } from './context.js'

export async function runtimeRoutes(app: FastifyInstance, c: ControlContext): Promise<void> {
  const view = (rt: RuntimeResource) => ({ ...rt, status: { pool: c.pools.get(rt.metadata.name) } })

  function check(body: unknown, name?: string): RuntimeResource {
    const rt = validateResource<RuntimeResource>('Runtime', body)
    if (name !== undefined && rt.metadata.name !== name) throw new KilnError('KILN_ERR_VALIDATION', `metadata.name: "${rt.metadata.name}" does not match the URL's "${name}"`)
    if (!rt.spec.command && !rt.spec.image) throw new KilnError('KILN_ERR_VALIDATION', 'spec.command: a runtime needs a command (embedded) or an image (Kubernetes)')
    return rt
  }

  app.get('/runtimes', async () => c.runtimes.list().map(view))
  app.post('/runtimes', async (req, reply) => reply.status(201).send(view(await c.runtimes.create(check(req.body)))))
  app.put<{ Params: { name: string } }>('/runtimes/:name', async (req) => view(await c.runtimes.put(check(req.body, req.params.name))))
  app.get<{ Params: { name: string } }>('/runtimes/:name', async (req) => {
    const rt = c.runtimes.get(req.params.name)
    if (!rt) throw notFound('Runtime', req.params.name)
    return view(rt)
  })
  app.delete<{ Params: { name: string } }>('/runtimes/:name', async (req) => {
    const users = c.functions.list().filter((f) => f.spec.runtime === req.params.name).map((f) => refOfMeta(f.metadata))
    if (users.length) throw new KilnError('KILN_ERR_IN_USE', `runtime "${req.params.name}" is used by ${users.join(', ')}`)
    const rt = await c.runtimes.delete(req.params.name)
    if (!rt) throw notFound('Runtime', req.params.name)
    return { deleted: rt.metadata.name }
  })
}
