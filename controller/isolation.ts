// Isolation by hand: `kiln fn isolate|release` move a function's instances to isolated nodes and back
// (the load monitor does the same on its own; both show in /v1/events).
import type { FastifyInstance } from 'fastify'
import { notFound } from '../core/store/resource-store.js'
import type { ControlContext } from './context.js'

export async function isolationRoutes(app: FastifyInstance, c: ControlContext): Promise<void> {
  app.post<{ Params: { name: string }; Body: { reason?: string } | undefined }>('/functions/:name/isolate', async (req) => {
    if (!c.live.status(req.params.name)) throw notFound('Function', req.params.name)
    const reason = typeof req.body?.reason === 'string' && req.body.reason ? req.body.reason : 'isolated by an operator'
    await c.live.isolate(req.params.name, reason)
    return c.live.status(req.params.name)
  })

  app.post<{ Params: { name: string } }>('/functions/:name/release', async (req) => {
    if (!c.live.status(req.params.name)) throw notFound('Function', req.params.name)
    await c.live.release(req.params.name)
    return c.live.status(req.params.name)
  })
}
