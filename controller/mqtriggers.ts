// /v1/mqtriggers: queue triggers (`kiln mq`), each message on a Redis stream or NATS subject a call of
// a function. The URL is shown without its password; `status` is what this process's consumer of
// the trigger is doing (none on a control-API-only process).
import type { FastifyInstance } from 'fastify'
import { KilnError } from '../core/errors.js'
import { checkQueueTrigger, redactUrl, type QueueTriggerStatus } from '../core/queue-trigger.js'
import { notFound, type ResourceStore } from '../core/store/resource-store.js'
import type { FunctionResource, QueueTriggerResource } from '../core/types.js'
import { validateResource } from '../core/validate.js'

export interface MqTriggerContext {
  mqTriggers: ResourceStore<QueueTriggerResource>
  functions: ResourceStore<FunctionResource>
  queues?: { status(name: string): QueueTriggerStatus | undefined }
}

export async function mqTriggerRoutes(app: FastifyInstance, c: MqTriggerContext): Promise<void> {
  const view = (t: QueueTriggerResource) => {
    const live = c.queues?.status(t.metadata.name)
    return { ...t, spec: { ...t.spec, url: redactUrl(t.spec.url) }, ...(live ? { status: live } : {}) }
  }

  app.get('/mqtriggers', async () => c.mqTriggers.list().map(view))

  app.post('/mqtriggers', async (req, reply) => {
    const t = validateResource<QueueTriggerResource>('QueueTrigger', req.body ?? {})
    checkQueueTrigger(t.spec)
    if (!c.functions.get(t.spec.function)) throw new KilnError('KILN_ERR_VALIDATION', `spec.function: no function "${t.spec.function}" (see \`kiln fn list\`)`)
    return reply.status(201).send(view(await c.mqTriggers.create(t)))
  })

  app.get<{ Params: { name: string } }>('/mqtriggers/:name', async (req) => {
    const t = c.mqTriggers.get(req.params.name)
    if (!t) throw notFound('QueueTrigger', req.params.name)
    return view(t)
  })

  app.delete<{ Params: { name: string } }>('/mqtriggers/:name', async (req) => {
    const t = await c.mqTriggers.delete(req.params.name)
    if (!t) throw notFound('QueueTrigger', req.params.name)
    return { deleted: t.metadata.name }
  })
}
