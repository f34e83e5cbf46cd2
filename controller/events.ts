// /v1/events: the platform's event log (isolations with their evidence, releases, crashes, out-of-memory kills).
import type { FastifyInstance } from 'fastify'
import type { ControlContext } from './context.js'

export async function eventRoutes(app: FastifyInstance, c: ControlContext): Promise<void> {
  app.get<{ Querystring: { function?: string; type?: string; since?: string } }>('/events', async (req) => c.events.list({
    function: req.query.function, type: req.query.type, since: req.query.since ? Number(req.query.since) : undefined,
  }))
}
