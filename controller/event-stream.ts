// One server-sent-events answer (text/event-stream) of the control API: the reply taken over from
// fastify once the authorization hook let the request through, events written as they come, a comment
// every 15 s so proxies keep the connection, and every open stream ended when the server closes (an
// open answer would otherwise hold `close()` forever).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

export interface EventStream {
  /** Writes one event; false when the client is gone or not reading (the caller sends the latest state later). */
  send(event: string, data: unknown): boolean
  /** The same, with the data already JSON (one line). */
  sendJson(event: string, json: string): boolean
  /** Runs once when the stream ends (client gone, or the server closing). */
  onClose(fn: () => void): void
  readonly closed: boolean
}

const HEARTBEAT_MS = 15_000

/** The streams open on one server, ended by its close. */
export function eventStreams(app: FastifyInstance): (req: FastifyRequest, reply: FastifyReply) => EventStream {
  const open = new Set<() => void>()
  app.addHook('preClose', async () => { for (const end of [...open]) end() })

  return (req, reply) => {
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      // nginx and others buffer answers unless told not to.
      'x-accel-buffering': 'no',
      'x-request-id': String(req.id),
    })
    res.write('retry: 3000\n\n')
    const closers: (() => void)[] = []
    let closed = false
    const heartbeat = setInterval(() => { res.write(': \n\n') }, HEARTBEAT_MS).unref()
    const end = () => {
      if (closed) return
      closed = true
      clearInterval(heartbeat)
      open.delete(end)
      for (const fn of closers) fn()
      res.end()
    }
    open.add(end)
    req.raw.on('close', end)
    res.on('close', end)
    res.on('error', end)
    const sendJson = (event: string, json: string) => {
      // A client that stops reading gets nothing more until it drains: the next state replaces this one.
      if (closed || res.writableNeedDrain) return false
      res.write(`event: ${event}\ndata: ${json}\n\n`)
      return true
    }
    return {
      get closed() { return closed },
      onClose: (fn) => { if (closed) fn(); else closers.push(fn) },
      sendJson,
      send: (event, data) => sendJson(event, JSON.stringify(data)),
    }
  }
}
