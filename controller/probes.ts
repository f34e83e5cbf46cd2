// GET /livez and /readyz at the root, for load balancers and Kubernetes probes. Live: the process
// answers. Ready: every readiness check passes (core/readiness.ts, platform/readiness.ts); otherwise
// 503 with the checks that do not, so `curl /readyz` says what it waits for. Advisory checks (the state
// store) are in the body either way and never fail it.
import type { FastifyInstance } from 'fastify'

export interface ReadinessSource { report(): { ready: boolean; checks: Record<string, string>; advisory: Record<string, string> } }

export function probeRoutes(app: FastifyInstance, readiness: ReadinessSource): void {
  app.get('/livez', async () => ({ live: true }))
  app.get('/readyz', async (_req, reply) => {
    const r = readiness.report()
    return reply.status(r.ready ? 200 : 503).send(r)
  })
}
