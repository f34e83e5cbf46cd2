// node-floor plus the header work Kiln's data path promises (docs/router.md "What the data path
// guarantees"; router/headers.ts), written here again in plain JavaScript, with no routing, limits or
// accounting: hop-by-hop headers dropped both ways (those Connection names too), X-Forwarded-For
// appended, X-Forwarded-Proto and -Host set, a request id kept or made and returned, a `traceparent`
// kept when valid or made, the answer's instance named. Kiln against this figure is the cost of the
// router's own work beyond its header contract; this figure against node-floor is the contract's cost.
// Usage: node headers-proxy.mjs UPSTREAM_URL PORT [UNIX_SOCKET]
import { randomFillSync } from 'node:crypto'
import { createServer } from 'node:http'
import { Pool } from 'undici'

const [upstream, port, socketPath] = process.argv.slice(2)
const pool = new Pool(upstream, { pipelining: 1, keepAliveTimeout: 30_000, ...(socketPath ? { socketPath } : {}) })

const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect', 'host', 'http2-settings'])
const TRACEPARENT = /^[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}(-.*)?$/
let seq = 0
const ids = Buffer.allocUnsafe(24 * 256)
let hex = ''
let next = 256
function traceparent() {
  if (next === 256) { randomFillSync(ids); hex = ids.toString('hex'); next = 0 }
  const s = next++ * 48
  return '00-' + hex.slice(s, s + 32) + '-' + hex.slice(s + 32, s + 48) + '-00'
}

createServer((req, res) => {
  const raw = req.rawHeaders
  const out = []
  let conn, id, xff, tp
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i].toLowerCase()
    if (k === 'connection') conn = raw[i + 1].toLowerCase()
    if (HOP.has(k)) continue
    if (k === 'x-request-id') id = raw[i + 1]
    if (k === 'traceparent') { if (TRACEPARENT.test(raw[i + 1])) tp = raw[i + 1]; continue }
    if (k === 'x-forwarded-for') { xff = raw[i + 1]; continue }
    out.push(raw[i], raw[i + 1])
  }
  if (conn !== undefined) {
    const drop = new Set(conn.split(',').map((s) => s.trim()))
    for (let i = out.length - 2; i >= 0; i -= 2) if (drop.has(out[i].toLowerCase())) out.splice(i, 2)
  }
  const remote = req.socket.remoteAddress ?? ''
  out.push('x-forwarded-for', xff ? `${xff}, ${remote}` : remote, 'x-forwarded-proto', 'http', 'x-forwarded-host', req.headers.host ?? '')
  if (id === undefined) { id = `floor-${(++seq).toString(36)}`; out.push('x-request-id', id) }
  out.push('traceparent', tp ?? traceparent())
  pool.dispatch({ path: req.url, method: req.method, headers: out, body: req.method === 'GET' || req.method === 'HEAD' ? null : req }, {
    onRequestStart() {},
    onResponseStart(_c, status, headers) {
      const h = {}
      const c = headers.connection
      const drop = typeof c === 'string' ? new Set(c.toLowerCase().split(',').map((s) => s.trim())) : undefined
      for (const k in headers) if (!HOP.has(k) && !drop?.has(k)) h[k] = headers[k]
      if (h['x-request-id'] === undefined) h['x-request-id'] = id
      h['x-kiln-instance'] = 'floor'
      res.writeHead(status, h)
    },
    onResponseData(_c, chunk) { res.write(chunk) },
    onResponseEnd() { res.end() },
    onResponseError() { res.destroy() },
  })
}).listen(Number(port), '127.0.0.1')

process.on('SIGTERM', () => process.exit(0))
