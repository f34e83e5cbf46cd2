// The data plane's way into async invocations: `POST /fn/NAME` with `Prefer: respond-async` (RFC 7240)
// and `/async/fn/NAME[/rest]` (both also under `/ns/NS`). The request (method, path with query,
// headers, body up to the async limit) is stored before the answer leaves: 202 Accepted,
// `Location: /v1/invocations/ID[?namespace=NS]`, `X-Kiln-Invocation-Id: ID` and
// `{id, function, namespace?, status}`.
// `X-Callback-Url` names where the result is POSTed (hosts in callbackHosts only); `Idempotency-Key`
// returns the first invocation's id for a repeat within 24 h. A private function's async call needs
// the token its synchronous call needs, checked here before anything is stored; the `Authorization`
// header is never stored (the dispatcher calls private functions with the platform's own token).
import type { IncomingMessage, ServerResponse } from 'node:http'
import { KilnError } from '../../core/errors.js'
import { DEFAULT_NAMESPACE, parseRef } from '../../core/refs.js'
import { FUNCTION_DEFAULTS } from '../../core/types.js'
import type { ResourceStore } from '../../core/store/resource-store.js'
import type { FunctionResource } from '../../core/types.js'
import { forwardedFor } from '../../router/headers.js'
import { privateCallRefused, type AsyncEntry, type CallerIdentity } from '../../router/data-plane.js'
import { errorOf, sendError } from '../../router/send-error.js'
import type { Acceptor } from './accept.js'

export interface AsyncEntryOptions {
  acceptor: Acceptor
  functions: ResourceStore<FunctionResource>
  /** Checks callers of private functions, as the synchronous path does. */
  auth: CallerIdentity
  /** the async body limit (config asyncMaxBodyBytes) */
  maxBodyBytes: number
  /** the platform's body limit (config maxBodyBytes) */
  platformMaxBodyBytes: number
}

/**
 * Headers not stored: the connection's own, those that only steer the async call itself, and the
 * caller's credentials (a platform token must never sit in the state store, nor reach the function).
 */
const NOT_STORED = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect',
  'host', 'content-length', 'prefer', 'x-callback-url', 'x-kiln-params', 'authorization',
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
  const xff = forwardedFor(out['x-forwarded-for'], req.socket.remoteAddress)
  if (xff !== '') out['x-forwarded-for'] = xff
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
    const fn = o.functions.get(name)
    if (fn?.spec.private === true) {
      const refused = privateCallRefused(o.auth, req.headers.authorization, name)
      if (refused) return refuse(req, res, refused)
    }
    try {
      o.acceptor.check({ function: name, ...(callbackUrl !== undefined ? { callbackUrl } : {}), ...(idempotencyKey !== undefined ? { idempotencyKey } : {}) })
    } catch (err) {
      return refuse(req, res, err)
    }
    const limit = Math.min(o.maxBodyBytes, fn!.spec.maxBodyBytes ?? FUNCTION_DEFAULTS.maxBodyBytes, o.platformMaxBodyBytes)
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
      // The function by name, with its namespace outside `default` (as the control API names resources).
      const { namespace, name: fnName } = parseRef(a.function)
      const inNs = namespace !== DEFAULT_NAMESPACE
      const text = JSON.stringify({ id: a.id, function: fnName, ...(inNs ? { namespace } : {}), status: a.status })
      const headers: Record<string, string | number> = {
        'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text),
        location: `/v1/invocations/${a.id}${inNs ? `?namespace=${encodeURIComponent(namespace)}` : ''}`, 'x-kiln-invocation-id': a.id,
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
