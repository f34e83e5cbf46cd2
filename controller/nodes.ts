// /v1/nodes: where instances run, with labels, taints, capacity, usage and the instances on each.
import type { FastifyInstance } from 'fastify'
import type { ControlContext } from './context.js'

export async function nodeRoutes(app: FastifyInstance, c: ControlContext): Promise<void> {
  app.get('/nodes', async () => c.nodes.list())
}
