// /v1/instances: every running instance, generic or specialized, with its state, node and load.
import type { FastifyInstance } from 'fastify'
import type { ControlContext } from './context.js'

export async function instanceRoutes(app: FastifyInstance, c: ControlContext): Promise<void> {
  app.get('/instances', async () => c.instances.list())
}
