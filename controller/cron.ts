// /v1/crontriggers: schedules that start a function of their own namespace (create, list with next and
// last run, read, replace, delete). Cron triggers are namespaced like routes: `?namespace=` (or the
// token's own) says where, `?namespace=*` lists every namespace the token reads.
import type { FastifyInstance } from 'fastify'
import { DEFAULT_NAMESPACE, refOf, refOfMeta } from '../core/refs.js'
import { notFound } from '../core/store/resource-store.js'
import type { CronTriggerResource } from '../core/types.js'
import type { ControlContext } from './context.js'
import { deleted, inNamespace } from './namespaced.js'

export async function cronRoutes(app: FastifyInstance, c: ControlContext): Promise<void> {
  const withStatus = async (t: CronTriggerResource) => ({ ...t, status: await c.cron.status(t) })

  app.get('/crontriggers', async (req) => Promise.all(c.cron.store.list().filter((t) => req.kiln.shows(t.metadata.namespace ?? DEFAULT_NAMESPACE)).map(withStatus)))

  app.post<{ Body: unknown }>('/crontriggers', async (req, reply) => {
    const ns = req.kiln.namespace
    const t = inNamespace(c.cron.check(req.body, ns), ns)
    return reply.status(201).send(await withStatus(await c.cron.store.create(t)))
  })

  app.put<{ Params: { name: string }; Body: unknown }>('/crontriggers/:name', async (req, reply) => {
    const ns = req.kiln.namespace
    const t = inNamespace(c.cron.check(req.body, ns, req.params.name), ns)
    const existed = c.cron.store.get(refOfMeta(t.metadata)) !== undefined
    return reply.status(existed ? 200 : 201).send(await withStatus(await c.cron.store.put(t)))
  })

  app.get<{ Params: { name: string } }>('/crontriggers/:name', async (req) => {
    const ref = refOf(req.kiln.namespace, req.params.name)
    const t = c.cron.store.get(ref)
    if (!t) throw notFound('CronTrigger', ref)
    return withStatus(t)
  })

  app.delete<{ Params: { name: string } }>('/crontriggers/:name', async (req) => {
    const ref = refOf(req.kiln.namespace, req.params.name)
    const t = await c.cron.store.delete(ref)
    if (!t) throw notFound('CronTrigger', ref)
    return deleted(t.metadata)
  })
}
