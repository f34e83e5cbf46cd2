// The `router` component on Kubernetes: a stateless, horizontally scaled entry tier that streams every
// request to the executor's data plane (KILN_EXECUTOR_URL), which resolves routes and acquires the
// instance in-process. It holds no instances and needs no pod permissions; `/healthz` is its own.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { Agent, errors, type Dispatcher } from 'undici'
import type { Logger } from 'pino'
import { errorBody } from '../core/errors.js'
import { withoutHopByHop } from './headers.js'

export interface RouterProxy { readonly url: string; readonly server: Server; close(): Promise<void> }

export async function startRouterProxy(o: { executorUrl: string; port: number; host: string; logger: Logger }): Promise<RouterProxy> {
  const target = new URL(o.executorUrl)
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: 256 })
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, role: 'router', executor: o.executorUrl }))
      return
    }
    const headers = withoutHopByHop(req.headers)
    headers['x-forwarded-for'] = req.socket.remoteAddress ?? ''
    headers['x-forwarded-host'] = req.headers.host ?? ''
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD'
    agent.stream(
      { origin: target.origin, path: req.url!, method: req.method as Dispatcher.HttpMethod, headers, body: hasBody ? req : undefined, headersTimeout: 0, bodyTimeout: 0 },
      ({ statusCode, headers: h }) => {
        res.writeHead(statusCode, withoutHopByHop(h as Record<string, string | string[] | undefined>))
        return res
      },
    ).catch((err: Error) => {
      if (res.headersSent) { res.destroy(err); return }
      const aborted = err instanceof errors.RequestAbortedError
      if (!aborted) o.logger.warn({ err, url: req.url }, 'router: executor unreachable')
      res.writeHead(503, { 'content-type': 'application/json' }).end(errorBody('KILN_ERR_NO_CAPACITY', `executor unreachable: ${err.message}`))
    })
  }
  const server = createServer(handle)
  await new Promise<void>((resolve) => server.listen(o.port, o.host, resolve))
  const port = (server.address() as { port: number }).port
  return {
    url: `http://${o.host === '0.0.0.0' ? '127.0.0.1' : o.host}:${port}`,
    server,
    async close() {
      await new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections() })
      await agent.close()
    },
  }
}
