// The data plane on fastify, for requests that reach fastify (the platform's server normally sends
// them to the data plane first, see data-plane.ts): `/fn/:name[/*]`, `/async/fn/:name[/*]` (both also
// under `/ns/:namespace`) and, from the 404 handler, user routes, so user paths never clash with the
// control API. Bodies are never parsed here.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { KilnError } from '../core/errors.js'
import type { DataPlane } from './data-plane.js'
import { sendError } from './send-error.js'

export type { WorkflowEntry } from './data-plane.js'

export async function routerPlugin(app: FastifyInstance, dp: DataPlane): Promise<void> {
  // Leave request bodies unread: the proxy streams them.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_req: FastifyRequest, _payload: unknown, done: (err: Error | null) => void) => done(null))

  const onFunction = (request: FastifyRequest, reply: FastifyReply) => {
    reply.hijack()
    dp.onFunction(request.raw, reply.raw)
  }
  app.all('/fn/:name', onFunction)
  app.all('/fn/:name/*', onFunction)
  app.all('/ns/:namespace/fn/:name', onFunction)
  app.all('/ns/:namespace/fn/:name/*', onFunction)
  const onAsync = (request: FastifyRequest, reply: FastifyReply) => {
    reply.hijack()
    dp.onAsync(request.raw, reply.raw)
  }
  app.all('/async/fn/:name', onAsync)
  app.all('/async/fn/:name/*', onAsync)
  app.all('/ns/:namespace/async/fn/:name', onAsync)
  app.all('/ns/:namespace/async/fn/:name/*', onAsync)

  app.setNotFoundHandler((request, reply) => {
    reply.hijack()
    const req = request.raw
    if (dp.onRoute(req, reply.raw)) return
    sendError(reply.raw, new KilnError('KILN_ERR_ROUTE_NOT_FOUND', `no function or route matches ${req.method} ${req.url}`))
    req.resume()
  })
}
