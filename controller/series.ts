// GET /v1/functions/NAME/series: the function's request rate, 5xx share and p50/p99 latency over the
// last minutes, one point per interval (core/request-series.ts), for the console's sparklines.
import type { FastifyInstance } from 'fastify'
import { refOf } from '../core/refs.js'
import { notFound } from '../core/store/resource-store.js'
import type { ControlContext } from './context.js'

export async function seriesRoutes(app: FastifyInstance, c: ControlContext): Promise<void> {
  app.get<{ Params: { name: string } }>('/functions/:name/series', async (req) => {
    const ref = refOf(req.kiln.namespace, req.params.name)
    if (!c.functions.get(ref)) throw notFound('Function', ref)
    return c.series.of(ref)
  })
}
