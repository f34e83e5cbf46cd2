// GET /v1/version: the server's version, without a token (as `kubectl version` shows the server's), so
// `kiln version` can show client and server side by side.
import type { FastifyInstance } from 'fastify'
import { API_VERSION } from '../core/types.js'
import { KILN_VERSION } from '../core/version.js'

export async function versionRoutes(app: FastifyInstance): Promise<void> {
  app.get('/version', async () => ({ version: KILN_VERSION, apiVersion: API_VERSION }))
}
