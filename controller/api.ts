// The control API the CLI talks to, mounted at /v1. Every request passes one authorization hook first
// (authz.ts: bearer token, role, namespace); a route without a line in its table stops the start.
import type { FastifyInstance } from 'fastify'
import { KilnError } from '../core/errors.js'
import { DEFAULT_NAMESPACE } from '../core/refs.js'
import { installAuthz } from './authz.js'
import type { ControlContext } from './context.js'
import { installErrorHandler } from './errors.js'
import { eventRoutes } from './events.js'
import { functionRoutes } from './functions.js'
import { instanceRoutes } from './instances.js'
import { isolationRoutes } from './isolation.js'
import { namespaceRoutes } from './namespaces.js'
import { nodeRoutes } from './nodes.js'
import { packageRoutes } from './packages.js'
import { poolRoutes } from './pools.js'
import { releaseRoutes } from './releases.js'
import { runtimeRoutes } from './runtimes.js'
import { secretRoutes } from './secrets.js'
import { tokenRoutes } from './tokens.js'
import { triggerRoutes } from './triggers.js'
import { executionRoutes } from './executions.js'
import { workflowRoutes } from './workflows.js'
import { invocationRoutes } from './invocations.js'
import { cronRoutes } from './cron.js'
import { versionRoutes } from './version.js'
import { mqTriggerRoutes } from './mqtriggers.js'
import { seriesRoutes } from './series.js'
import { watchRoutes } from './watch.js'

export const API_PREFIX = '/v1'

export async function controlApi(app: FastifyInstance, c: ControlContext): Promise<void> {
  installErrorHandler(app)
  installAuthz(app, API_PREFIX, {
    auth: c.auth,
    packageSignature: c.packageSignature,
    namespaceExists: (ns) => ns === DEFAULT_NAMESPACE || c.namespaces.get(ns) !== undefined,
    packageNamespaces: (sha) => [...new Set(c.functions.list().filter((f) => f.spec.package.sha256 === sha).map((f) => f.metadata.namespace ?? DEFAULT_NAMESPACE))],
  })
  // Unknown /v1 paths pass the same hook (401 without a token) before their 404.
  app.setNotFoundHandler(async (req) => { throw new KilnError('KILN_ERR_NOT_FOUND', `no API route ${req.method} ${req.url}`) })
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
  await namespaceRoutes(app, c)
  await tokenRoutes(app, c)
  await secretRoutes(app, c)
  await invocationRoutes(app, c)
  await cronRoutes(app, c)
  await releaseRoutes(app, c)
  await versionRoutes(app)
  await mqTriggerRoutes(app, c)
  await seriesRoutes(app, c)
  await watchRoutes(app, c)
}
