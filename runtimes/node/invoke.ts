// Every request that is not the platform's: call the specialized function and write its answer.
// The hot path: no body read when there is none, no allocation beyond the request object, one timer
// only when the function has a timeout.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { BadBody, BodyTooLarge, hasNoBody, parseBody, readBody } from './body.js'
import { messageOf, sendError } from './errors.js'
import { exhausted, isFdExhaustion } from './exhausted.js'
import { KilnRequest } from './request.js'
import { toReply, writeReply } from './respond.js'
import { type Specialized, state } from './state.js'

export function invoke(req: IncomingMessage, res: ServerResponse, maxBody: number): void {
  const s = state.current
  if (s === undefined) return sendError(res, 'KILN_ERR_NOT_SPECIALIZED', 'this instance has no function loaded', undefined)
  state.requests++
  if (s.loaded.stream) return call(s, req, res, req)
  if (hasNoBody(req)) return call(s, req, res, undefined)
  readBody(req, maxBody).then(
    (raw) => {
      let body: unknown = raw
      if (!s.shape.rawBody) {
        try {
          body = parseBody(raw, req.headers['content-type'])
        } catch (err) {
          if (err instanceof BadBody) return sendError(res, 'KILN_ERR_BAD_REQUEST_BODY', err.message, s.info.name)
          throw err
        }
      } else if (raw.length === 0) body = undefined
      call(s, req, res, body)
    },
    (err) => {
      if (err instanceof BodyTooLarge) sendError(res, 'KILN_ERR_BODY_TOO_LARGE', `request body over ${maxBody} bytes`, s.info.name, true)
      else res.destroy()
    },
  )
}

function fail(s: Specialized, res: ServerResponse, err: unknown): void {
  const name = s.info.name
  process.stderr.write(`kiln: function ${name} failed: ${err instanceof Error ? err.stack : messageOf(err)}\n`)
  const out = isFdExhaustion(err)
  sendError(res, 'KILN_ERR_FUNCTION_ERROR', messageOf(err), name, out)
  if (out) exhausted(`function ${name}`)
}

function call(s: Specialized, req: IncomingMessage, res: ServerResponse, body: unknown): void {
  const kreq = new KilnRequest(req, res, body)
  let settled = false
  let timer: NodeJS.Timeout | undefined
  state.pending++
  const finish = (value: unknown, err: unknown, failed: boolean) => {
    if (timer !== undefined) clearTimeout(timer)
    if (settled) return
    settled = true
    // The function answered on the raw response itself (Fission's context.response).
    if (res.headersSent || res.writableEnded) return
    if (failed) return fail(s, res, err)
    try {
      writeReply(res, toReply(value))
    } catch (e) {
      fail(s, res, e)
    }
  }
  let result: unknown
  try {
    result = s.shape.call(s.loaded.fn, kreq, s.info)
  } catch (err) {
    state.pending--
    return finish(undefined, err, true)
  }
  if (result === null || typeof result !== 'object' || typeof (result as Promise<unknown>).then !== 'function') {
    state.pending--
    return finish(result, undefined, false)
  }
  const t = s.info.timeoutMs
  if (t > 0) {
    timer = setTimeout(() => {
      if (settled) return
      settled = true
      process.stderr.write(`kiln: function ${s.info.name} did not settle within ${t} ms\n`)
      sendError(res, 'KILN_ERR_FUNCTION_TIMEOUT', `function did not settle within ${t} ms`, s.info.name, true)
    }, t)
  }
  ;(result as Promise<unknown>).then(
    (v) => {
      state.pending--
      finish(v, undefined, false)
    },
    (e) => {
      state.pending--
      finish(undefined, e, true)
    },
  )
}
