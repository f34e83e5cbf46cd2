// /v1/pools: generic pools per runtime, and operator pool tuning (live, persisted in the runtime).
import type { FastifyInstance } from 'fastify'
import { KilnError } from '../core/errors.js'
import { notFound } from '../core/store/resource-store.js'
import type { ControlContext } from './context.js'

export async function poolRoutes(app: FastifyInstance, c: ControlContext): Promise<void> {
  app.get('/pools', async () => c.pools.list())

  app.put<{ Params: { runtime: string }; Body: { size?: unknown } }>('/pools/:runtime', async (req) => {
    const rt = c.runtimes.get(req.params.runtime)
    if (!rt) throw notFound('Runtime', req.params.runtime)
    const size = req.body?.size
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 0 || size > 1000) {
      throw new KilnError('KILN_ERR_VALIDATION', 'size: must be an integer from 0 to 1000')
    }
    await c.runtimes.put({ ...rt, spec: { ...rt.spec, poolSize: size } })
    return c.pools.get(rt.metadata.name)
  })
}
