// The Kiln Node.js runtime server: boots generic, is specialized with one function, serves it.
// Plain node:http and nothing else, bundled into dist/runtimes/node.js. See docs/runtime-contract.md.
import { closeSync, unlinkSync, writeSync } from 'node:fs'
import { type IncomingMessage, type ServerResponse, STATUS_CODES, createServer } from 'node:http'
import type { Duplex } from 'node:stream'
import { ERRORS, type ErrorCode, sendError } from './errors.js'
import { exhausted, isFdExhaustion, onExhausted } from './exhausted.js'
import { health } from './health.js'
import { invoke } from './invoke.js'
import { specialize } from './specialize.js'
import { state } from './state.js'
import { unload } from './unload.js'
import { warmUp } from './warmup.js'

const port = Number(process.env.PORT ?? 8888)
const host = process.env.HOST || '127.0.0.1'
// A Unix socket path (the platform's sandbox gives one) replaces HOST:PORT.
const socketPath = process.env.KILN_SOCKET || undefined
const maxBody = Number(process.env.KILN_MAX_BODY) > 0 ? Number(process.env.KILN_MAX_BODY) : 100 * 1024 * 1024

function platform(req: IncomingMessage, res: ServerResponse, path: string): void {
  if (path !== '/v1/specialize') req.resume() // no other platform endpoint reads a body
  if (path === '/healthz') {
    if (req.method === 'GET' || req.method === 'HEAD') return health(res)
  } else if (path === '/v1/specialize') {
    if (req.method === 'POST') {
      specialize(req, res).catch((err) => {
        process.stderr.write(`kiln: specialize failed: ${err?.stack ?? err}\n`)
        sendError(res, 'KILN_ERR_LOAD_FAILED', String(err?.message ?? err))
      })
      return
    }
  } else if (path === '/v1/unload') {
    if (req.method === 'POST') return unload(res)
  } else {
    return sendError(res, 'KILN_ERR_NOT_FOUND', `no platform endpoint ${path}`)
  }
  sendError(res, 'KILN_ERR_METHOD_NOT_ALLOWED', `${req.method} ${path}`)
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? '/'
  // Platform paths: /healthz and /v1/*; everything else is the function's.
  if (url.charCodeAt(1) === 104 /* h */ || url.charCodeAt(1) === 118 /* v */) {
    const q = url.indexOf('?')
    const path = q === -1 ? url : url.slice(0, q)
    if (path === '/healthz' || path.startsWith('/v1/')) return platform(req, res, path)
  }
  invoke(req, res, maxBody)
}

const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0, headersTimeout: 60_000 }, handle)
server.on('connection', (socket) => {
  state.connections++
  socket.once('close', () => state.connections--)
})
// HTTP upgrades (WebSocket): handed to the function's `upgrade(req, socket, head)` export, which owns
// the socket from then on. Without one (or before specialization) the upgrade is refused with a status.
server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
  const s = state.current
  const refuse = (code: ErrorCode, message: string) => {
    const status = ERRORS[code]
    const body = JSON.stringify({ error: code, message })
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`)
  }
  if (s === undefined) return refuse('KILN_ERR_NOT_SPECIALIZED', 'this instance has no function loaded')
  const upgrade = s.loaded.upgrade
  if (upgrade === undefined) return refuse('KILN_ERR_UPGRADE_NOT_SUPPORTED', `function ${s.info.name} exports no upgrade handler`)
  state.requests++
  socket.on('error', () => socket.destroy())
  const failed = (err: unknown) => {
    process.stderr.write(`kiln: function ${s.info.name} upgrade failed: ${(err as Error)?.stack ?? err}\n`)
    socket.destroy()
  }
  try {
    const r = upgrade(req, socket, head) as Promise<unknown> | undefined
    if (r && typeof r.then === 'function') r.then(undefined, failed)
  } catch (err) {
    failed(err)
  }
})
server.on('clientError', (err, socket) => {
  if (socket.writable && !(err as { code?: string }).code?.startsWith('ECONN')) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n')
  else socket.destroy()
})

// Accepting fails when the process is out of file descriptors: nothing it serves will work any more.
server.on('error', (err) => {
  if (isFdExhaustion(err)) exhausted('accept')
  else process.stderr.write(`kiln: server error: ${err?.stack ?? err}\n`)
})
onExhausted(() => {
  server.close()
  server.closeIdleConnections()
})

// A function's stray async error must not take down the instance's other requests, but the
// instance is no longer trusted: /v1/unload and /healthz then report clean: false.
process.on('uncaughtException', (err) => {
  state.tainted = true
  process.stderr.write(`kiln: uncaught exception: ${err?.stack ?? err}\n`)
  if (isFdExhaustion(err)) exhausted('uncaught exception')
})
process.on('unhandledRejection', (err) => {
  state.tainted = true
  process.stderr.write(`kiln: unhandled rejection: ${(err as Error)?.stack ?? err}\n`)
})

function shutdown(): void {
  server.close(() => process.exit(0))
  server.closeIdleConnections()
  setTimeout(() => process.exit(0), 10_000).unref()
}
process.once('SIGTERM', shutdown)
process.once('SIGINT', shutdown)

if (process.env.KILN_WATCH_STDIN === '1') {
  // stdin is a pipe from the platform: its EOF means the platform is gone, so is this instance.
  process.stdin.on('end', () => process.exit(0))
  process.stdin.on('error', () => process.exit(0))
  process.stdin.resume()
}

const onListening = async () => {
  const addr = server.address()
  const actual = typeof addr === 'object' && addr !== null ? addr.port : port
  await warmUp(socketPath !== undefined ? { socketPath } : { port: actual, host })
  const fd = Number(process.env.KILN_READY_FD)
  if (Number.isInteger(fd) && fd > 2) {
    try {
      writeSync(fd, JSON.stringify(socketPath !== undefined ? { socket: socketPath, pid: process.pid } : { port: actual, pid: process.pid }) + '\n')
      closeSync(fd)
    } catch (err) {
      process.stderr.write(`kiln: cannot write the ready line to fd ${fd}: ${(err as Error).message}\n`)
    }
  }
}
// Room for a burst of new connections from the platform (Node's default is 511; the kernel caps it at
// net.core.somaxconn): past it, a Unix socket's connect fails at once with EAGAIN.
const BACKLOG = 4096
if (socketPath !== undefined) {
  try { unlinkSync(socketPath) } catch { /* not there */ }
  server.listen({ path: socketPath, backlog: BACKLOG }, onListening)
} else {
  server.listen({ port, host, backlog: BACKLOG }, onListening)
}
