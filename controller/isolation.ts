// Isolation by hand: `kiln fn isolate|release` move a function's instances to isolated nodes and back
// (the load monitor does the same on its own; both show in /v1/events).
import type { FastifyInstance } from 'fastify'
import { refOf } from '../core/refs.js'
import { notFound } from '../core/store/resource-store.js'
import type { ControlContext } from './context.js'

export async function isolationRoutes(app: FastifyInstance, c: ControlContext): Promise<void> {
  app.post<{ Params: { name: string }; Body: { reason?: string } | undefined }>('/functions/:name/isolate', async (req) => {
    const ref = refOf(req.kiln.namespace, req.params.name)
    if (!c.live.status(ref)) throw notFound('Function', ref)
    const reason = typeof req.body?.reason === 'string' && req.body.reason ? req.body.reason : 'isolated by an operator'
    await c.live.isolate(ref, reason)
    return c.live.status(ref)
  })

  app.post<{ Params: { name: string } }>('/functions/:name/release', async (req) => {
    const ref = refOf(req.kiln.namespace, req.params.name)
    if (!c.live.status(ref)) throw notFound('Function', ref)
    await c.live.release(ref)
    return c.live.status(ref)
  })
}
