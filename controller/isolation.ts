// Isolation by hand (`kiln fn isolate|release`), the event log, nodes, and metrics.
import type { FastifyInstance } from 'fastify'
import { notFound } from '../core/store/resource-store.js'
import type { ControlContext } from './context.js'

export async function isolationRoutes(app: FastifyInstance, c: ControlContext): Promise<void> {
  app.post<{ Params: { name: string }; Body: { reason?: string } | undefined }>('/functions/:name/isolate', async (req) => {
    if (!c.executor.state(req.params.name)) throw notFound('Function', req.params.name)
    const reason = typeof req.body?.reason === 'string' && req.body.reason ? req.body.reason : 'isolated by an operator'
    await c.executor.isolate(req.params.name, { reason, evidence: {}, at: Date.now(), by: 'operator' })
    return c.executor.describe(req.params.name)
  })

  app.post<{ Params: { name: string } }>('/functions/:name/release', async (req) => {
    if (!c.executor.state(req.params.name)) throw notFound('Function', req.params.name)
    await c.executor.releaseIsolation(req.params.name, 'operator')
    return c.executor.describe(req.params.name)
  })

  app.get<{ Querystring: { function?: string; type?: string; since?: string } }>('/events', async (req) => c.events.list({
    function: req.query.function, type: req.query.type, since: req.query.since ? Number(req.query.since) : undefined,
  }))

  app.get('/nodes', async () => {
    const recs = [...c.fleet.records.values()]
    return c.nodes.map((n) => {
      const on = recs.filter((r) => r.node === n.name)
      return {
        name: n.name, labels: n.labels ?? {}, taints: n.taints ?? [], capacity: { cpus: n.cpus, memory: n.memory, cpuset: n.cpuset },
        usage: {
          instances: on.length,
          cpuCores: Math.round(on.reduce((a, r) => a + (r.load?.cpuCores ?? 0), 0) * 1000) / 1000,
          memoryBytes: on.reduce((a, r) => a + (r.load?.memoryBytes ?? 0), 0),
        },
        instances: on.map((r) => ({ id: r.id, function: r.fn, state: r.state === 'ready' && r.inflight > 0 ? 'busy' : r.state })),
        cgroups: c.cgroups,
        ...(c.sandbox ? { sandbox: c.sandbox.protections() } : {}),
      }
    })
  })
}
