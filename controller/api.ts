// The control API the CLI talks to, mounted at /v1.
import type { FastifyInstance } from 'fastify'
import type { ControlContext } from './context.js'
import { installErrorHandler } from './errors.js'
import { eventRoutes } from './events.js'
import { functionRoutes } from './functions.js'
import { instanceRoutes } from './instances.js'
import { isolationRoutes } from './isolation.js'
import { nodeRoutes } from './nodes.js'
import { packageRoutes } from './packages.js'
import { poolRoutes } from './pools.js'
import { runtimeRoutes } from './runtimes.js'
import { triggerRoutes } from './triggers.js'
import { executionRoutes } from './executions.js'
import { workflowRoutes } from './workflows.js'
import { mqTriggerRoutes } from './mqtriggers.js'

export async function controlApi(app: FastifyInstance, c: ControlContext): Promise<void> {
  installErrorHandler(app)
  await functionRoutes(app, c)
  await isolationRoutes(app, c)
  await eventRoutes(app, c)
  await nodeRoutes(app, c)
  await runtimeRoutes(app, c)
  await poolRoutes(app, c)
  await instanceRoutes(app, c)
  await triggerRoutes(app, c)
  await packageRoutes(app, c)
  await workflowRoutes(app, c)
  await executionRoutes(app, c)
  await mqTriggerRoutes(app, c)
}
