// The AWS Lambda shape behind an API Gateway HTTP API: `exports.handler = async (event, context)` with a
// payload format 2.0 event; returns `{statusCode, headers, cookies, body, isBase64Encoded}` or a bare
// value (200, JSON). Callback-style handlers `(event, context, callback)` work too.
import type { OutgoingHttpHeaders } from 'node:http'
import { mediaType } from '../body.js'
import type { KilnRequest } from '../request.js'
import { Reply } from '../respond.js'
import type { FunctionInfo, Shape } from './shape.js'

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const pad = (n: number) => (n < 10 ? '0' + n : String(n))

/** API Gateway's `requestContext.time`: `12/Mar/2020:19:03:58 +0000`. */
function clf(d: Date): string {
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`
}

function isTextual(contentType: string | undefined): boolean {
  const t = mediaType(contentType)
  return (
    t.startsWith('text/') ||
    t === 'application/json' ||
    t.endsWith('+json') ||
    t.endsWith('/xml') ||
    t.endsWith('+xml') ||
    t === 'application/javascript' ||
    t === 'application/x-www-form-urlencoded'
  )
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v
}

export function lambdaEvent(req: KilnRequest, requestId: string, now: number) {
  const headers: Record<string, string> = {}
  let cookies: string[] | undefined
  for (const k in req.headers) {
    const v = req.headers[k]
    if (v === undefined) continue
    if (k === 'cookie') cookies = (Array.isArray(v) ? v.join('; ') : v).split(/;\s*/).filter(Boolean)
    else headers[k] = Array.isArray(v) ? v.join(',') : v
  }
  let qsp: Record<string, string> | undefined
  const query = req.query
  for (const k in query) {
    const v = query[k]
    ;(qsp ??= {})[k] = Array.isArray(v) ? v.join(',') : (v ?? '')
  }
  const params = req.params
  const host = first(req.headers.host) ?? 'localhost'
  const raw = req.body as Buffer | undefined
  const text = raw !== undefined && isTextual(first(req.headers['content-type']))
  const event: Record<string, unknown> = {
    version: '2.0',
    routeKey: '$default',
    rawPath: req.path,
    rawQueryString: req.rawQuery,
    headers,
    requestContext: {
      accountId: 'kiln',
      apiId: 'kiln',
      domainName: host,
      domainPrefix: host.split('.')[0],
      http: {
        method: req.method,
        path: req.path,
        protocol: `HTTP/${req.raw.httpVersion}`,
        sourceIp: (first(req.headers['x-forwarded-for']) ?? req.raw.socket.remoteAddress ?? '').split(',')[0].trim(),
        userAgent: first(req.headers['user-agent']) ?? '',
      },
      requestId,
      routeKey: '$default',
      stage: '$default',
      time: clf(new Date(now)),
      timeEpoch: now,
    },
    isBase64Encoded: raw !== undefined && !text,
  }
  if (cookies !== undefined) event.cookies = cookies
  if (qsp !== undefined) event.queryStringParameters = qsp
  if (Object.keys(params).length > 0) event.pathParameters = params
  if (raw !== undefined) event.body = text ? raw.toString('utf8') : raw.toString('base64')
  return event
}

function lambdaContext(info: FunctionInfo, requestId: string, now: number) {
  const deadline = info.timeoutMs > 0 ? now + info.timeoutMs : Infinity
  return {
    functionName: info.name,
    functionVersion: info.version,
    invokedFunctionArn: `arn:kiln:lambda:local:000000000000:function:${info.name}`,
    memoryLimitInMB: process.env.KILN_MEMORY_MB ?? '128',
    awsRequestId: requestId,
    logGroupName: `/kiln/${info.name}`,
    logStreamName: String(process.pid),
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => (deadline === Infinity ? 2 ** 31 - 1 : Math.max(0, deadline - Date.now())),
  }
}

/** Converts a Lambda proxy result into a Reply. */
export function lambdaReply(result: unknown): Reply {
  const json = { 'content-type': 'application/json' }
  if (result === undefined || result === null) return new Reply(200, json, undefined)
  if (typeof result === 'object' && typeof (result as { statusCode?: unknown }).statusCode === 'number') {
    const r = result as { statusCode: number; headers?: Record<string, string>; multiValueHeaders?: Record<string, string[]>; cookies?: string[]; body?: unknown; isBase64Encoded?: boolean }
    const headers: OutgoingHttpHeaders = { ...r.headers, ...r.multiValueHeaders }
    let hasType = false
    for (const k in headers) if (k.toLowerCase() === 'content-type') hasType = true
    if (!hasType) headers['content-type'] = 'application/json'
    if (r.cookies !== undefined && r.cookies.length > 0) headers['set-cookie'] = r.cookies
    let body: unknown = r.body
    if (typeof body === 'string' && r.isBase64Encoded) body = Buffer.from(body, 'base64')
    else if (body !== undefined && typeof body !== 'string') body = JSON.stringify(body)
    return new Reply(r.statusCode, headers, body)
  }
  return new Reply(200, json, JSON.stringify(result))
}

export const lambda: Shape & { rawBody: true } = {
  rawBody: true,
  call(fn, req, info) {
    const now = Date.now()
    const requestId = first(req.headers['x-request-id']) ?? globalThis.crypto.randomUUID()
    const event = lambdaEvent(req, requestId, now)
    const context = lambdaContext(info, requestId, now)
    return new Promise((resolve, reject) => {
      let settled = false
      const callback = (err: unknown, value?: unknown) => {
        if (settled) return
        settled = true
        if (err !== undefined && err !== null) reject(err)
        else resolve(lambdaReply(value))
      }
      try {
        const r = fn(event, { ...context, done: callback, succeed: (v: unknown) => callback(null, v), fail: (e: unknown) => callback(e ?? new Error('failed')) }, callback) as Promise<unknown> | undefined
        if (fn.length < 3 || (r && typeof r.then === 'function')) Promise.resolve(r).then((v) => callback(null, v), (e) => callback(e ?? new Error('function rejected')))
      } catch (err) {
        callback(err ?? new Error('function threw'))
      }
    })
  },
}
