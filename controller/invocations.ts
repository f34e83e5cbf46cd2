// /v1/invocations: async invocations: list (by function, status, source), read (status, attempts,
// result, error, callback), redrive a dead or failed one, cancel a queued or running one. An
// invocation belongs to its function's namespace: as with executions, ids are global and a token sees,
// retries and cancels only those of the namespaces it covers (another's answer 404, as if absent).
import type { FastifyInstance } from 'fastify'
import { KilnError } from '../core/errors.js'
import { DEFAULT_NAMESPACE, refOf } from '../core/refs.js'
import type { Access } from './authz.js'
import type { ControlContext } from './context.js'

const STATUSES = new Set(['queued', 'running', 'succeeded', 'failed', 'dead'])

export async function invocationRoutes(app: FastifyInstance, c: ControlContext): Promise<void> {
  /** An invocation the token may see (its function's namespace is one of the token's), else 404. */
  async function find(id: string, access: Access): Promise<Record<string, unknown>> {
    const inv = await c.invocations.get(id)
    if (!inv || !access.covers(String(inv.namespace ?? DEFAULT_NAMESPACE))) throw new KilnError('KILN_ERR_INVOCATION_NOT_FOUND', `invocation ${id} not found`)
    return inv
  }

  app.get<{ Querystring: { function?: string; status?: string; source?: string; limit?: string } }>('/invocations', async (req) => {
    const { function: fn, status, source } = req.query
    if (status !== undefined && !STATUSES.has(status)) throw new KilnError('KILN_ERR_BAD_REQUEST', `status: one of ${[...STATUSES].join(', ')} (got "${status}")`)
    const limit = Math.min(Math.max(Number(req.query.limit ?? 100) || 100, 1), 1000)
    const access = req.kiln
    // One namespace: that one (a function named there is its ref). `?namespace=*`: every namespace
    // the token reads (all of them for `*` tokens), a function named in any of them.
    const mine = access.identity.namespaces
    const where = access.all
      ? { ...(mine.includes('*') ? {} : { namespaces: mine }), ...(fn ? { name: fn } : {}) }
      : fn ? { function: refOf(access.namespace, fn) } : { namespaces: [access.namespace] }
    return c.invocations.list({ ...where, ...(status ? { status } : {}), ...(source ? { source } : {}), limit })
  })

  app.get<{ Params: { id: string } }>('/invocations/:id', async (req) => find(req.params.id, req.kiln))

  app.post<{ Params: { id: string } }>('/invocations/:id/retry', async (req) => {
    await find(req.params.id, req.kiln)
    return c.invocations.retry(req.params.id)
  })

  app.post<{ Params: { id: string } }>('/invocations/:id/cancel', async (req) => {
    await find(req.params.id, req.kiln)
    return c.invocations.cancel(req.params.id)
  })
}
