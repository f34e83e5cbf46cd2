// /v1/workflows: deploy (create, update), read, delete workflows; run one (`POST .../executions`).
// A workflow is checked against the deployed functions and workflows before it is stored.
import type { FastifyInstance } from 'fastify'
import { KilnError } from '../core/errors.js'
import { DEFAULT_NAMESPACE, nameOf, refOf, refOfMeta } from '../core/refs.js'
import { describeRef, notFound } from '../core/store/resource-store.js'
import type { WorkflowResource } from '../core/types.js'
import type { ControlContext } from './context.js'
import { executionView } from './executions.js'
import { deleted } from './namespaced.js'

export async function workflowRoutes(app: FastifyInstance, c: ControlContext): Promise<void> {
  const store = c.workflows.store
  const view = (w: WorkflowResource) => ({ ...w, status: { tasks: Object.keys(c.workflows.spec(refOfMeta(w.metadata))?.tasks ?? {}).length } })

  app.get('/workflows', async (req) => store.list().filter((w) => req.kiln.shows(w.metadata.namespace ?? DEFAULT_NAMESPACE)).map(view))

  app.post('/workflows', async (req, reply) => {
    const wf = await store.create(await c.workflows.check(req.body, undefined, req.kiln.namespace))
    return reply.status(201).send(view(wf))
  })

  app.put<{ Params: { name: string } }>('/workflows/:name', async (req, reply) => {
    const wf = await c.workflows.check(req.body, req.params.name, req.kiln.namespace)
    const existed = store.get(refOfMeta(wf.metadata)) !== undefined
    const stored = await store.put(wf)
    return reply.status(existed ? 200 : 201).send(view(stored))
  })

  app.get<{ Params: { name: string } }>('/workflows/:name', async (req) => {
    const ref = refOf(req.kiln.namespace, req.params.name)
    const wf = store.get(ref)
    if (!wf) throw notFound('Workflow', ref)
    return view(wf)
  })

  app.delete<{ Params: { name: string } }>('/workflows/:name', async (req) => {
    const ns = req.kiln.namespace
    const ref = refOf(ns, req.params.name)
    const wf = store.get(ref)
    if (!wf) throw notFound('Workflow', ref)
    const users = c.workflows.usedBy(ref)
    if (users.length) throw new KilnError('KILN_ERR_IN_USE', `workflow ${describeRef(ref)} is started by workflow ${users.map((u) => `"${nameOf(u)}"`).join(', ')}`)
    const routes = c.triggers.list().filter((t) => (t.metadata.namespace ?? DEFAULT_NAMESPACE) === ns && t.spec.workflow === req.params.name).map((t) => t.metadata.name)
    if (routes.length) throw new KilnError('KILN_ERR_IN_USE', `workflow ${describeRef(ref)} is the target of route ${routes.map((r) => `"${r}"`).join(', ')}`, { hint: 'delete the route first with `kiln route delete`' })
    await store.delete(ref)
    return deleted(wf.metadata)
  })

  // Runs the workflow with the JSON body as its input. Waits for the end and answers the execution
  // (succeeded or failed: both are a completed request); `?async=1` answers 202 once it is stored.
  app.post<{ Params: { name: string }; Querystring: { async?: string } }>('/workflows/:name/executions', async (req, reply) => {
    const async = req.query.async !== undefined && req.query.async !== '0' && req.query.async !== 'false'
    const started = await c.executions.start(refOf(req.kiln.namespace, req.params.name), req.body ?? null)
    const id = started.executionId
    void reply.header('location', `/v1/executions/${id}`)
    if (async) {
      started.done.catch(() => {})
      return reply.status(202).send({ executionId: id, workflow: req.params.name, ...(req.kiln.namespace !== DEFAULT_NAMESPACE ? { namespace: req.kiln.namespace } : {}), status: 'running' })
    }
    const final = await started.done
    return reply.status(200).send(executionView(final, false))
  })
}
