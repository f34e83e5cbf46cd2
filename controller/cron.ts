// /v1/crontriggers: schedules that start a function (create, list with next and last run, read, delete).
import type { FastifyInstance } from 'fastify'
import { notFound } from '../core/store/resource-store.js'
import type { CronTriggerResource } from '../core/types.js'
import type { ControlContext } from './context.js'

export async function cronRoutes(app: FastifyInstance, c: ControlContext): Promise<void> {
  const withStatus = async (t: CronTriggerResource) => ({ ...t, status: await c.cron.status(t) })

  app.get('/crontriggers', async () => Promise.all(c.cron.store.list().map(withStatus)))

  app.post<{ Body: unknown }>('/crontriggers', async (req, reply) => {
    const t = c.cron.check(req.body)
    return reply.status(201).send(await withStatus(await c.cron.store.create(t)))
  })

  app.put<{ Params: { name: string }; Body: unknown }>('/crontriggers/:name', async (req) => {
    return withStatus(await c.cron.store.put(c.cron.check(req.body, req.params.name)))
  })

  app.get<{ Params: { name: string } }>('/crontriggers/:name', async (req) => {
    const t = c.cron.store.get(req.params.name)
    if (!t) throw notFound('CronTrigger', req.params.name)
    return withStatus(t)
  })

  app.delete<{ Params: { name: string } }>('/crontriggers/:name', async (req) => {
    const t = await c.cron.store.delete(req.params.name)
    if (!t) throw notFound('CronTrigger', req.params.name)
    return { deleted: t.metadata.name }
  })
}
