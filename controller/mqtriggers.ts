// /v1/mqtriggers: queue triggers (`kiln mq`), each message on a Redis stream or NATS subject a call of
// a function of the trigger's own namespace. Namespaced like cron triggers: `?namespace=` (or the
// token's own) says where, `?namespace=*` lists every namespace the token reads. The URL is shown
// without its password; `status` is what this process's consumer of the trigger is doing (none on a
// control-API-only process).
import type { FastifyInstance } from 'fastify'
import { KilnError } from '../core/errors.js'
import { checkQueueTrigger, redactUrl, type QueueTriggerStatus } from '../core/queue-trigger.js'
import { DEFAULT_NAMESPACE, refOf, refOfMeta } from '../core/refs.js'
import { notFound, type ResourceStore } from '../core/store/resource-store.js'
import type { FunctionResource, QueueTriggerResource } from '../core/types.js'
import { validateResource } from '../core/validate.js'
import { deleted, inNamespace } from './namespaced.js'

export interface MqTriggerContext {
  mqTriggers: ResourceStore<QueueTriggerResource>
  functions: ResourceStore<FunctionResource>
  /** By the trigger's ref. */
  queues?: { status(ref: string): QueueTriggerStatus | undefined }
}

/**
 * A request body as a checked QueueTrigger of `namespace`: the schema, what the kind needs of the URL
 * and topics, and a function of that namespace (a trigger calls only its own namespace's functions).
 */
function check(c: MqTriggerContext, body: unknown, namespace: string, urlName?: string): QueueTriggerResource {
  const b = (body ?? {}) as Record<string, unknown>
  const meta = (b.metadata ?? {}) as Record<string, unknown>
  const withName = urlName !== undefined ? { ...b, metadata: { ...meta, name: meta.name ?? urlName } } : b
  const t = inNamespace(validateResource<QueueTriggerResource>('QueueTrigger', withName), namespace)
  if (urlName !== undefined && t.metadata.name !== urlName) throw new KilnError('KILN_ERR_VALIDATION', `metadata.name: "${t.metadata.name}" does not match the URL's "${urlName}"`)
  checkQueueTrigger(t.spec)
  if (!c.functions.get(refOf(namespace, t.spec.function))) {
    throw new KilnError('KILN_ERR_VALIDATION', `spec.function: no function "${t.spec.function}"${namespace === DEFAULT_NAMESPACE ? '' : ` in namespace "${namespace}"`} (see \`kiln fn list\`)`)
  }
  return t
}

export async function mqTriggerRoutes(app: FastifyInstance, c: MqTriggerContext): Promise<void> {
  const view = (t: QueueTriggerResource) => {
    const live = c.queues?.status(refOfMeta(t.metadata))
    return { ...t, spec: { ...t.spec, url: redactUrl(t.spec.url) }, ...(live ? { status: live } : {}) }
  }

  app.get('/mqtriggers', async (req) => c.mqTriggers.list().filter((t) => req.kiln.shows(t.metadata.namespace ?? DEFAULT_NAMESPACE)).map(view))

  app.post<{ Body: unknown }>('/mqtriggers', async (req, reply) => {
    const t = check(c, req.body, req.kiln.namespace)
    return reply.status(201).send(view(await c.mqTriggers.create(t)))
  })

  app.put<{ Params: { name: string }; Body: unknown }>('/mqtriggers/:name', async (req, reply) => {
    const t = check(c, req.body, req.kiln.namespace, req.params.name)
    const old = c.mqTriggers.get(refOfMeta(t.metadata))
    // A trigger read back and sent again carries its URL as shown (`redis://:***@host`): keep the password.
    const url = old && t.spec.url !== old.spec.url && t.spec.url === redactUrl(old.spec.url) ? old.spec.url : t.spec.url
    return reply.status(old ? 200 : 201).send(view(await c.mqTriggers.put({ ...t, spec: { ...t.spec, url } })))
  })

  app.get<{ Params: { name: string } }>('/mqtriggers/:name', async (req) => {
    const ref = refOf(req.kiln.namespace, req.params.name)
    const t = c.mqTriggers.get(ref)
    if (!t) throw notFound('QueueTrigger', ref)
    return view(t)
  })

  app.delete<{ Params: { name: string } }>('/mqtriggers/:name', async (req) => {
    const ref = refOf(req.kiln.namespace, req.params.name)
    const t = await c.mqTriggers.delete(ref)
    if (!t) throw notFound('QueueTrigger', ref)
    return deleted(t.metadata)
  })
}
