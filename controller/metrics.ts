// GET /metrics: the Prometheus exposition of the platform's registry (core/metrics.ts), at the root.
import type { FastifyInstance } from 'fastify'

export interface MetricsSource { readonly contentType: string; metrics(): Promise<string> }

export function metricsRoute(app: FastifyInstance, registry: MetricsSource): void {
  app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()))
}
