// Header handling for the proxy: hop-by-hop headers are dropped (RFC 9110 §7.6.1) both ways,
// repeated headers are kept (raw header pairs), and X-Forwarded-*, a request id and a W3C
// `traceparent` are set.
import type { IncomingMessage } from 'node:http'
import { isTraceparent, newTraceparent } from './traceparent.js'

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect', 'host', 'http2-settings',
])

let seq = 0
const prefix = Math.random().toString(36).slice(2, 8)

export function requestId(): string {
  return `${prefix}-${(++seq).toString(36)}`
}

/**
 * Raw header pairs for the upstream request. `traceparent`: the router's own span context when tracing
 * is on (it replaces the caller's); otherwise the caller's is kept when valid, and a new one is made
 * when it is missing or malformed. Without `Authorization` for a private function's call.
 */
export function upstreamHeaders(req: IncomingMessage, params: string | undefined, traceparent?: string, dropAuthorization = false): { headers: string[]; id: string } {
  const raw = req.rawHeaders
  const out: string[] = []
  let extraHop: string | undefined
  let id: string | undefined
  let xff: string | undefined
  let tp = traceparent
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i]
    const lk = k.toLowerCase()
    if (lk === 'connection') extraHop = raw[i + 1].toLowerCase()
    if (HOP_BY_HOP.has(lk) || lk === 'x-kiln-params' || (dropAuthorization && lk === 'authorization')) continue
    if (lk === 'x-request-id') id = raw[i + 1]
    if (lk === 'traceparent') {
      if (tp === undefined && isTraceparent(raw[i + 1])) tp = raw[i + 1]
      continue
    }
    if (lk === 'x-forwarded-for') { xff = raw[i + 1]; continue }
    out.push(k, raw[i + 1])
  }
  if (extraHop !== undefined) {
    const drop = new Set(extraHop.split(',').map((s) => s.trim()))
    for (let i = out.length - 2; i >= 0; i -= 2) if (drop.has(out[i].toLowerCase())) out.splice(i, 2)
  }
  out.push('x-forwarded-for', forwardedFor(xff, req.socket.remoteAddress))
  out.push('x-forwarded-proto', (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http')
  out.push('x-forwarded-host', req.headers.host ?? '')
  if (id === undefined) { id = requestId(); out.push('x-request-id', id) }
  out.push('traceparent', tp ?? newTraceparent())
  if (params !== undefined) out.push('x-kiln-params', params)
  return { headers: out, id }
}

/**
 * The X-Forwarded-For a hop sends on: the chain it received with the caller's address appended. No
 * address (a router process's relay over the platform's own Unix socket, which set the caller's
 * already): the chain as it came.
 */
export function forwardedFor(chain: string | string[] | undefined, remote: string | undefined): string {
  const prev = Array.isArray(chain) ? chain.join(', ') : chain
  if (remote === undefined || remote === '') return prev ?? ''
  return prev ? `${prev}, ${remote}` : remote
}

/** Headers with the hop-by-hop ones removed (those named in `Connection` too): responses to clients, and the entry tier's requests. */
export function withoutHopByHop(h: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  const conn = h.connection
  const drop = typeof conn === 'string' ? new Set(conn.toLowerCase().split(',').map((s) => s.trim())) : undefined
  for (const k in h) {
    const v = h[k]
    if (v === undefined || HOP_BY_HOP.has(k) || drop?.has(k)) continue
    out[k] = v
  }
  return out
}
