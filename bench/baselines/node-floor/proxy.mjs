// The floor of Kiln's own stack: the least a reverse proxy built on node:http and undici can do (no
// routing, no header rewriting, no limits, no accounting). Kiln's router against this figure is the
// cost of what the router adds; this figure against nginx is the cost of the stack itself.
// Usage: node proxy.mjs UPSTREAM_URL PORT [UNIX_SOCKET]
import { createServer } from 'node:http'
import { Pool } from 'undici'

const [upstream, port, socketPath] = process.argv.slice(2)
const pool = new Pool(upstream, { pipelining: 1, keepAliveTimeout: 30_000, ...(socketPath ? { socketPath } : {}) })

createServer((req, res) => {
  pool.dispatch({ path: req.url, method: req.method, headers: req.rawHeaders, body: req.method === 'GET' || req.method === 'HEAD' ? null : req }, {
    onRequestStart() {},
    onResponseStart(_c, status, headers) { res.writeHead(status, headers) },
    onResponseData(_c, chunk) { res.write(chunk) },
    onResponseEnd() { res.end() },
    onResponseError() { res.destroy() },
  })
}).listen(Number(port), '127.0.0.1')

process.on('SIGTERM', () => process.exit(0))
