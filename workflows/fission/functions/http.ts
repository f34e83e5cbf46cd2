// http: a request on the workflow author's behalf. `url` (or `default`) is the URL ("http://" is added
// without a scheme); `body` (or `default` when `url` is given) the body, sent as JSON for a map or list
// and as text otherwise (`content-type` forces one); `method` (GET without a body, POST with one),
// `headers`, `query`. Output: the response body (parsed when it is JSON). Only hosts in the operator's
// callbackHosts are reached, checked again on the addresses a name resolves to; redirects are not
// followed; a non-2xx answer fails the task with KILN_ERR_HTTP_REQUEST_FAILED and the status.
import { Agent } from 'undici'
import { KilnError } from '../../../core/errors.js'
import type { HostAllowlist } from '../../../core/allowlist.js'
import { inputError, typeName, type InternalFunction } from '../call.js'
import { isJsonType, requestOf } from '../http-io.js'

const agents = new WeakMap<HostAllowlist, Agent>()

/** One keep-alive agent per allowlist; its connections resolve names through the allowlist's lookup. */
function agentFor(allowlist: HostAllowlist): Agent {
  let a = agents.get(allowlist)
  if (!a) {
    a = new Agent({ connect: { lookup: allowlist.lookup as never }, keepAliveTimeout: 10_000 })
    agents.set(allowlist, a)
  }
  return a
}

export const http: InternalFunction = async (call) => {
  const { inputs, services } = call
  const target = inputs.url ?? inputs.default
  if (target === undefined || target === null) throw inputError('http', 'target URL is required for HTTP function')
  if (typeof target !== 'string') throw inputError('http', `input 'url' must be a string, got ${typeName(target)}`)
  // "http://" is added to a URL without a scheme; another scheme (file://, gopher://) is refused by checkUrl
  const url = services.allowlist.checkUrl(/^[a-z][a-z0-9+.-]*:\/\//i.test(target) ? target : `http://${target}`)
  const body = inputs.body ?? (inputs.url !== undefined ? inputs.default : undefined)
  const hasBody = body !== undefined && body !== null
  const req = requestOf(inputs, body, hasBody ? 'POST' : 'GET')
  for (const [k, v] of Object.entries(req.query)) url.searchParams.append(k, v)
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(req.headers)) if (!/^(host|connection|content-length|transfer-encoding)$/i.test(k)) headers[k] = v
  let payload: string | undefined
  if (hasBody && req.method !== 'GET' && req.method !== 'HEAD') {
    payload = isJsonType(req.contentType) ? JSON.stringify(body) : typeof body === 'string' ? body : JSON.stringify(body)
    headers['content-type'] = req.contentType
  }
  const signal = AbortSignal.any([call.signal, AbortSignal.timeout(services.httpTimeoutMs)])
  let res
  try {
    res = await agentFor(services.allowlist).request({ origin: url.origin, path: `${url.pathname}${url.search}`, method: req.method as 'GET', headers, body: payload, signal })
  } catch (err) {
    if (call.signal.aborted) throw call.signal.reason
    if ((err as KilnError).code === 'KILN_ERR_HOST_NOT_ALLOWED') throw err
    const e = err as Error & { code?: string; cause?: { code?: string } }
    if (e.cause && (e.cause as KilnError).code === 'KILN_ERR_HOST_NOT_ALLOWED') throw e.cause
    throw new KilnError('KILN_ERR_HTTP_REQUEST_FAILED', `http: ${req.method} ${url.origin}${url.pathname}: ${e.code ?? e.name}: ${e.message}`)
  }
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of res.body) {
    size += (chunk as Buffer).length
    if (size > services.maxResponseBytes) {
      res.body.destroy()
      throw new KilnError('KILN_ERR_HTTP_REQUEST_FAILED', `http: the answer of ${url.origin}${url.pathname} is over ${services.maxResponseBytes} bytes`)
    }
    chunks.push(chunk as Buffer)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  const ctype = String(res.headers['content-type'] ?? '')
  let value: unknown = text
  if (isJsonType(ctype) && text !== '') {
    try {
      value = JSON.parse(text)
    } catch {
      value = text
    }
  }
  if (res.statusCode < 200 || res.statusCode >= 300) {
    const err = new KilnError('KILN_ERR_HTTP_REQUEST_FAILED', `http: ${req.method} ${url.origin}${url.pathname} answered ${res.statusCode}: ${text.slice(0, 300)}`)
    Object.defineProperty(err, 'status', { value: res.statusCode, enumerable: true })
    throw err
  }
  return res.statusCode === 204 || text === '' ? null : value
}
