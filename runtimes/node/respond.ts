// Writes what a function returned: a response object, a shorthand value, or a stream.
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { pipeline } from 'node:stream'

/** An explicit response built by a shape adapter; never reinterpreted as shorthand. */
export class Reply {
  constructor(
    public status: number,
    public headers: OutgoingHttpHeaders | undefined,
    public body: unknown,
  ) {}
}

const RESPONSE_KEYS = new Set(['status', 'statusCode', 'headers', 'body'])

/**
 * `{status, headers, body}` (any subset, `statusCode` for `status`) is a response object when all its
 * keys are response keys and it has a `body` or a numeric status; any other object is JSON shorthand,
 * so a function may return `{headers: req.headers}` and get it back as JSON.
 */
function asResponse(v: object): Reply | undefined {
  const o = v as Record<string, unknown>
  let seen = false
  for (const k in o) {
    if (!RESPONSE_KEYS.has(k)) return undefined
    seen = true
  }
  if (!seen) return undefined
  const status = o.status ?? o.statusCode
  if (!('body' in o) && typeof status !== 'number') return undefined
  return new Reply(typeof status === 'number' ? status : Number(status ?? 200) || 200, o.headers as OutgoingHttpHeaders, o.body)
}

export function isStreamBody(v: unknown): v is NodeJS.ReadableStream | AsyncIterable<unknown> {
  if (v === null || typeof v !== 'object') return false
  if (typeof (v as NodeJS.ReadableStream).pipe === 'function') return true
  return typeof (v as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
}

/** Turns a kiln-shape return value into a Reply (see docs/runtime-contract.md, shorthand rules). */
export function toReply(value: unknown): Reply {
  if (value instanceof Reply) return value
  if (value === undefined) return new Reply(204, undefined, undefined)
  if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value) && !isStreamBody(value) && !ArrayBuffer.isView(value)) {
    const r = asResponse(value)
    if (r !== undefined) return r
  }
  return new Reply(200, undefined, value)
}

function hasContentType(h: OutgoingHttpHeaders): boolean {
  if (h['content-type'] !== undefined) return true
  for (const k in h) if (k.length === 12 && k.toLowerCase() === 'content-type') return true
  return false
}

/** Writes a Reply. Calls `done(err)` once the body is fully written or the write failed. */
export function writeReply(res: ServerResponse, reply: Reply, done?: (err?: Error) => void): void {
  let { body } = reply
  const status = reply.status
  const headers: OutgoingHttpHeaders = reply.headers === undefined ? {} : { ...reply.headers }
  let type: string | undefined
  let payload: string | Buffer | undefined
  if (body === undefined || body === null) {
    payload = undefined
  } else if (typeof body === 'string') {
    type = 'text/plain; charset=utf-8'
    payload = body
  } else if (Buffer.isBuffer(body)) {
    type = 'application/octet-stream'
    payload = body
  } else if (body instanceof Uint8Array || body instanceof ArrayBuffer) {
    type = 'application/octet-stream'
    payload = Buffer.from(body as Uint8Array)
  } else if (isStreamBody(body)) {
    if (!hasContentType(headers)) headers['content-type'] = 'application/octet-stream'
    res.writeHead(status, headers)
    pipeline(body as NodeJS.ReadableStream, res, (err) => {
      if (err && !res.writableFinished) {
        process.stderr.write(`kiln: response stream failed: ${err.stack ?? err.message}\n`)
        res.destroy(err)
      }
      done?.(err ?? undefined)
    })
    return
  } else {
    type = 'application/json; charset=utf-8'
    payload = JSON.stringify(body)
    if (payload === undefined) payload = '' // a function or symbol
  }
  if (type !== undefined && !hasContentType(headers)) headers['content-type'] = type
  if (payload === undefined) {
    if (status !== 204 && status !== 304) headers['content-length'] = 0
    res.writeHead(status, headers)
    res.end()
  } else {
    headers['content-length'] = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length
    res.writeHead(status, headers)
    res.end(payload)
  }
  done?.()
}
