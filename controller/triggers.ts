// /v1/triggers: user HTTP routes to functions or workflows.
import type { FastifyInstance } from 'fastify'
import { KilnError } from '../core/errors.js'
import { notFound } from '../core/store/resource-store.js'
import type { HTTPTriggerResource } from '../core/types.js'
import { validateResource } from '../core/validate.js'
import type { ControlContext } from './context.js'

const RESERVED = /^\/(v1|fn|wf|async\/fn|healthz|livez|readyz|metrics|internal)(\/|$)/

/** A readable default name: `get-greet-name` for GET /greet/:name. */
export function triggerName(method: string, path: string): string {
  const base = `${method}-${path}`.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '')
  return base.slice(0, 63).replace(/-+$/, '') || 'route'
}

export async function triggerRoutes(app: FastifyInstance, c: ControlContext): Promise<void> {
  app.get('/triggers', async () => c.triggers.list())

  app.post<{ Body: Record<string, unknown> }>('/triggers', async (req, reply) => {
    const body = req.body ?? {}
    const spec = (body.spec ?? {}) as { method?: string; path?: string }
    const meta = (body.metadata ?? {}) as { name?: string }
    const withName = { ...body, metadata: { ...meta, name: meta.name ?? triggerName(String(spec.method ?? ''), String(spec.path ?? '')) } }
    const t = validateResource<HTTPTriggerResource>('HTTPTrigger', withName)
    if (!t.spec.function === !t.spec.workflow) throw new KilnError('KILN_ERR_VALIDATION', 'spec: give exactly one of function or workflow')
    if (RESERVED.test(t.spec.path)) throw new KilnError('KILN_ERR_VALIDATION', `spec.path: ${t.spec.path} is reserved by Kiln (/v1, /fn, /wf, /async/fn, /healthz, /livez, /readyz, /metrics, /internal)`)
    if (t.spec.function && !c.functions.get(t.spec.function)) throw new KilnError('KILN_ERR_VALIDATION', `spec.function: no function "${t.spec.function}"`)
    if (t.spec.workflow && !c.workflows.store.get(t.spec.workflow)) throw new KilnError('KILN_ERR_VALIDATION', `spec.workflow: no workflow "${t.spec.workflow}" (see \`kiln wf list\`)`)
    if (c.routes.conflicts(t)) throw new KilnError('KILN_ERR_ALREADY_EXISTS', `a route for ${t.spec.method} ${t.spec.path} already exists`)
    return reply.status(201).send(await c.triggers.create(t))
  })

  app.get<{ Params: { name: string } }>('/triggers/:name', async (req) => {
    const t = c.triggers.get(req.params.name)
    if (!t) throw notFound('HTTPTrigger', req.params.name)
    return t
  })

  app.delete<{ Params: { name: string } }>('/triggers/:name', async (req) => {
    const t = await c.triggers.delete(req.params.name)
    if (!t) throw notFound('HTTPTrigger', req.params.name)
    return { deleted: t.metadata.name }
  })
}
