// /v1/packages: content-addressed code packages (gzipped tar), checked before anything is stored.
import type { FastifyInstance } from 'fastify'
import { KilnError } from '../core/errors.js'
import { refOfMeta } from '../core/refs.js'
import type { ControlContext } from './context.js'

export async function packageRoutes(app: FastifyInstance, c: ControlContext): Promise<void> {
  const raw = { parseAs: 'buffer' as const, bodyLimit: c.maxPackageBytes }
  const asBuffer = (_req: unknown, body: Buffer, done: (err: Error | null, body?: Buffer) => void) => done(null, body)
  app.addContentTypeParser(['application/gzip', 'application/x-gzip', 'application/octet-stream', 'application/x-tar'], raw, asBuffer)

  app.post<{ Querystring: { sha256?: string } }>('/packages', async (req, reply) => {
    if (!Buffer.isBuffer(req.body) || req.body.length === 0) {
      throw new KilnError('KILN_ERR_BAD_PACKAGE', 'send the package as an application/gzip body')
    }
    const info = await c.packages.put(req.body, req.query.sha256)
    return reply.status(201).send(info)
  })

  app.get('/packages', async () => c.packages.list())

  app.get<{ Params: { sha: string } }>('/packages/:sha', async (req, reply) => {
    const data = await c.packages.get(req.params.sha)
    if (!data) throw new KilnError('KILN_ERR_PACKAGE_NOT_FOUND', `package ${req.params.sha} not found`)
    return reply.type('application/gzip').send(data)
  })

  app.delete<{ Params: { sha: string } }>('/packages/:sha', async (req) => {
    const users = c.functions.list().filter((f) => f.spec.package.sha256 === req.params.sha).map((f) => refOfMeta(f.metadata))
    if (users.length) throw new KilnError('KILN_ERR_IN_USE', `package is used by ${users.join(', ')}`)
    if (!(await c.packages.delete(req.params.sha))) throw new KilnError('KILN_ERR_PACKAGE_NOT_FOUND', `package ${req.params.sha} not found`)
    return { deleted: req.params.sha }
  })
}
