// The data plane's way into async invocations: `POST /fn/NAME` with `Prefer: respond-async` (RFC 7240)
// and `/async/fn/NAME[/rest]`. The request (method, path with query, headers, body up to the async
// limit) is stored before the answer leaves: 202 Accepted, `Location: /v1/invocations/ID`,
// `X-Kiln-Invocation-Id: ID` and `{id, function, status}`. `X-Callback-Url` names where the result is
// POSTed (hosts in callbackHosts only); `Idempotency-Key` returns the first invocation's id for a
// repeat within 24 h.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { KilnError } from '../../core/errors.js'
import { FUNCTION_DEFAULTS } from '../../core/types.js'
import type { ResourceStore } from '../../core/store/resource-store.js'
import type { FunctionResource } from '../../core/types.js'
import type { AsyncEntry } from '../../router/data-plane.js'
import { errorOf, sendError } from '../../router/send-error.js'
import type { Acceptor } from './accept.js'

export interface AsyncEntryOptions {
  acceptor: Acceptor
  functions: ResourceStore<FunctionResource>
  /** the async body limit (config asyncMaxBodyBytes) */
  maxBodyBytes: number
  /** the platform's body limit (config maxBodyBytes) */
  platformMaxBodyBytes: number
}

/** Headers not stored: the connection's own, and those that only steer the async call itself. */
const NOT_STORED = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect',
  'host', 'content-length', 'prefer', 'x-callback-url', 'x-kiln-params',
])

function storedHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {}
  const h = req.headers
  for (const k in h) {
    if (NOT_STORED.has(k)) continue
    const v = h[k]
    if (v === undefined) continue
    out[k] = Array.isArray(v) ? v.join(', ') : v
  }
  const remote = req.socket.remoteAddress
  if (remote !== undefined) out['x-forwarded-for'] = out['x-forwarded-for'] ? `${out['x-forwarded-for']}, ${remote}` : remote
  return out
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let done = false
    req.on('data', (c: Buffer) => {
      if (done) return
      size += c.length
      if (size > limit) {
        done = true
        reject(new KilnError('KILN_ERR_BODY_TOO_LARGE', `request body of more than ${limit} bytes is over the async limit of ${limit} bytes`))
        return
      }
      chunks.push(c)
    })
    req.on('end', () => { if (!done) { done = true; resolve(Buffer.concat(chunks, size)) } })
    req.on('error', (err) => { if (!done) { done = true; reject(err) } })
  })
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v
}

export function asyncEntry(o: AsyncEntryOptions): AsyncEntry {
  const refuse = (req: IncomingMessage, res: ServerResponse, err: unknown) => {
    sendError(res, errorOf(err))
    req.resume()
  }

  async function run(name: string, path: string, req: IncomingMessage, res: ServerResponse, preferred: boolean): Promise<void> {
    const callbackUrl = one(req.headers['x-callback-url'])
    const idempotencyKey = one(req.headers['idempotency-key'])
    try {
      o.acceptor.check({ function: name, ...(callbackUrl !== undefined ? { callbackUrl } : {}), ...(idempotencyKey !== undefined ? { idempotencyKey } : {}) })
    } catch (err) {
      return refuse(req, res, err)
    }
    const fn = o.functions.get(name)!
    const limit = Math.min(o.maxBodyBytes, fn.spec.maxBodyBytes ?? FUNCTION_DEFAULTS.maxBodyBytes, o.platformMaxBodyBytes)
    const len = req.headers['content-length']
    if (len !== undefined && Number(len) > limit) {
      return refuse(req, res, new KilnError('KILN_ERR_BODY_TOO_LARGE', `request body of ${len} bytes is over the async limit of ${limit} bytes`))
    }
    let body: Buffer
    try {
      body = await readBody(req, limit)
    } catch (err) {
      return refuse(req, res, err)
    }
    try {
      const a = await o.acceptor.accept({
        function: name, source: 'http',
        request: { method: req.method ?? 'POST', path, headers: storedHeaders(req), body },
        ...(callbackUrl !== undefined ? { callbackUrl } : {}),
        ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
      })
      if (res.destroyed) return
      const text = JSON.stringify({ id: a.id, function: a.function, status: a.status })
      const headers: Record<string, string | number> = {
        'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text),
        location: `/v1/invocations/${a.id}`, 'x-kiln-invocation-id': a.id,
      }
      if (preferred) headers['preference-applied'] = 'respond-async'
      res.writeHead(202, headers)
      res.end(text)
    } catch (err) {
      sendError(res, errorOf(err))
    }
  }

  return {
    handle(name, path, req, res, preferred) {
      run(name, path, req, res, preferred).catch((err) => refuse(req, res, err))
    },
  }
}
