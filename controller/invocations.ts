// /v1/invocations: async invocations: list (by function, status, source), read (status, attempts,
// result, error, callback), redrive a dead or failed one, cancel a queued or running one.
import type { FastifyInstance } from 'fastify'
import { KilnError } from '../core/errors.js'
import type { ControlContext } from './context.js'

const STATUSES = new Set(['queued', 'running', 'succeeded', 'failed', 'dead'])

export async function invocationRoutes(app: FastifyInstance, c: ControlContext): Promise<void> {
  app.get<{ Querystring: { function?: string; status?: string; source?: string; limit?: string } }>('/invocations', async (req) => {
    const { function: fn, status, source } = req.query
    if (status !== undefined && !STATUSES.has(status)) throw new KilnError('KILN_ERR_BAD_REQUEST', `status: one of ${[...STATUSES].join(', ')} (got "${status}")`)
    const limit = Math.min(Math.max(Number(req.query.limit ?? 100) || 100, 1), 1000)
    return c.invocations.list({ ...(fn ? { function: fn } : {}), ...(status ? { status } : {}), ...(source ? { source } : {}), limit })
  })

  app.get<{ Params: { id: string } }>('/invocations/:id', async (req) => {
    const inv = await c.invocations.get(req.params.id)
    if (!inv) throw new KilnError('KILN_ERR_INVOCATION_NOT_FOUND', `invocation ${req.params.id} not found`)
    return inv
  })

  app.post<{ Params: { id: string } }>('/invocations/:id/retry', async (req) => c.invocations.retry(req.params.id))

  app.post<{ Params: { id: string } }>('/invocations/:id/cancel', async (req) => c.invocations.cancel(req.params.id))
}
