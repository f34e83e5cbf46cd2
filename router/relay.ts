// A request passed on whole to another Kiln process, streamed both ways: the router tier to an executor
// replica or the controller, and an executor replica to the replica that owns the function
// (cluster/kubernetes/members.ts). Hop-by-hop headers are dropped (headers.ts); `extra` headers are
// set on top (the router tier sets x-forwarded-for/-host from the caller's connection).
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Agent, errors, type Dispatcher } from 'undici'
import type { Logger } from 'pino'
import { errorBody } from '../core/errors.js'
import { withoutHopByHop } from './headers.js'

/** Set on a request one executor relays to another: the receiver serves it, whoever it thinks owns the function. */
export const RELAYED_HEADER = 'x-kiln-relayed'

/** Headers to set on the way (undefined: remove the caller's). */
export type ExtraHeaders = Record<string, string | undefined>

export type Relay = (origin: string, req: IncomingMessage, res: ServerResponse, extra?: ExtraHeaders) => void

export function createRelay(o: { logger: Logger; agent?: Agent; what: string }): Relay & { close(): Promise<void> } {
  const agent = o.agent ?? new Agent({ keepAliveTimeout: 30_000, connections: 256 })
  const relay = ((origin, req, res, extra) => {
    const headers = withoutHopByHop(req.headers)
    if (extra) for (const [k, v] of Object.entries(extra)) { if (v === undefined) delete headers[k]; else headers[k] = v }
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD'
    agent.stream(
      { origin, path: req.url!, method: req.method as Dispatcher.HttpMethod, headers, body: hasBody ? req : undefined, headersTimeout: 0, bodyTimeout: 0 },
      ({ statusCode, headers: h }) => {
        res.writeHead(statusCode, withoutHopByHop(h as Record<string, string | string[] | undefined>))
        return res
      },
    ).catch((err: Error) => {
      if (res.headersSent) { res.destroy(err); return }
      const aborted = err instanceof errors.RequestAbortedError
      if (!aborted) o.logger.warn({ err, url: req.url, origin }, `${o.what} unreachable`)
      res.writeHead(503, { 'content-type': 'application/json' }).end(errorBody('KILN_ERR_NO_CAPACITY', `${o.what} unreachable: ${err.message}`))
    })
  }) as Relay & { close(): Promise<void> }
  relay.close = () => agent.close()
  return relay
}
