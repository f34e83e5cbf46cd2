// /v1/executions: workflow executions: list, read (status, per-task timing, outputs, errors), history
// (events), cancel.
import type { FastifyInstance } from 'fastify'
import { KilnError } from '../core/errors.js'
import { namespaceOf, refOf } from '../core/refs.js'
import type { Execution, ExecutionStatus } from '../workflows/state/execution.js'
import type { ControlContext } from './context.js'

const ms = (from: string, to: string | undefined) => (to === undefined ? undefined : Date.parse(to) - Date.parse(from))

/** The record as the API shows it: durations added; the workflow spec it ran only when asked. */
export function executionView(e: Execution, withSpec: boolean): Record<string, unknown> {
  const tasks: Record<string, unknown> = {}
  for (const [path, t] of Object.entries(e.tasks)) tasks[path] = { ...t, durationMs: ms(t.startedAt, t.finishedAt) }
  const { spec, ...rest } = e
  return { ...rest, durationMs: ms(e.createdAt, e.finishedAt), tasks, ...(withSpec ? { spec } : {}) }
}

const STATUSES = new Set<ExecutionStatus>(['running', 'succeeded', 'failed'])

export async function executionRoutes(app: FastifyInstance, c: ControlContext): Promise<void> {
  /** An execution the token may see: ids are global, so its workflow's namespace must be one of the token's. */
  async function find(id: string, access: { covers(ns: string): boolean }): Promise<Execution> {
    const e = await c.executions.get(id)
    if (!e || !access.covers(namespaceOf(e.workflow))) throw new KilnError('KILN_ERR_EXECUTION_NOT_FOUND', `execution ${id} not found`)
    return e
  }

  app.get<{ Querystring: { workflow?: string; status?: string; limit?: string } }>('/executions', async (req) => {
    const { workflow, status } = req.query
    if (status !== undefined && !STATUSES.has(status as ExecutionStatus)) throw new KilnError('KILN_ERR_BAD_REQUEST', `status: one of running, succeeded, failed (got "${status}")`)
    const limit = Math.min(Math.max(Number(req.query.limit ?? 100) || 100, 1), 1000)
    const filter = { ...(workflow ? { workflow: refOf(req.kiln.namespace, workflow) } : {}), ...(status ? { status: status as ExecutionStatus } : {}) }
    // One namespace with a workflow named: the store filters. Otherwise filter here by namespace (limit after).
    if (workflow && !req.kiln.all) return c.executions.list({ ...filter, limit })
    const all = await c.executions.list({ ...filter, limit: 100_000 })
    return all.filter((e) => req.kiln.shows(namespaceOf(e.workflow))).slice(0, limit)
  })

  app.get<{ Params: { id: string }; Querystring: { spec?: string } }>('/executions/:id', async (req) => {
    return executionView(await find(req.params.id, req.kiln), req.query.spec !== undefined && req.query.spec !== '0')
  })

  app.get<{ Params: { id: string } }>('/executions/:id/events', async (req) => {
    await find(req.params.id, req.kiln)
    return c.executions.events(req.params.id)
  })

  app.post<{ Params: { id: string } }>('/executions/:id/cancel', async (req) => {
    const e = await find(req.params.id, req.kiln)
    if (e.status !== 'running') throw new KilnError('KILN_ERR_CONFLICT', `execution ${e.id} already ${e.status}`)
    return executionView(await c.executions.cancel(e.id), false)
  })
}
