// /v1/events: the platform's event log (isolations with their evidence, releases, crashes, out-of-memory kills).
// Each event about a function is in that function's namespace; events about no function are the admins'.
import type { FastifyInstance } from 'fastify'
import { namespaceOf, refOf } from '../core/refs.js'
import type { ControlContext } from './context.js'

export async function eventRoutes(app: FastifyInstance, c: ControlContext): Promise<void> {
  app.get<{ Querystring: { function?: string; type?: string; since?: string } }>('/events', async (req) => {
    const admin = req.kiln.identity.role === 'admin' && req.kiln.identity.namespaces.includes('*')
    return c.events.list({
      function: req.query.function === undefined ? undefined : refOf(req.kiln.namespace, req.query.function),
      type: req.query.type, since: req.query.since ? Number(req.query.since) : undefined,
    }).filter((e) => (e.function === undefined ? admin : req.kiln.shows(namespaceOf(e.function))))
  })
}
