// HTTP as Fission Workflows speaks it (their typedvalues/httpconv): a request's body is parsed by its
// Content-Type (JSON when it says JSON, text otherwise), headers and query flattened to one value per
// name; an answer's Content-Type follows the output (text for a string, JSON for a map or list, no
// content for nothing). Also how a task's inputs become a request (body/default, method, headers,
// query, content-type).
import type { IncomingMessage, ServerResponse } from 'node:http'
import { KilnError } from '../../core/errors.js'
import type { Invocation } from './scope.js'

/** Go's textproto.CanonicalMIMEHeaderKey: their scope shows `headers.Content-Type`, `headers.X-Foo`. */
export function canonicalHeader(name: string): string {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase())
}

export function isJsonType(contentType: string | undefined): boolean {
  return !!contentType && contentType.toLowerCase().includes('json')
}

/** The body as a value: JSON parsed when the Content-Type says JSON (bad JSON: KILN_ERR_BAD_REQUEST), text otherwise. */
export function parseBody(raw: Buffer, contentType: string | undefined): unknown {
  if (raw.length === 0) return null
  const text = raw.toString('utf8')
  if (!isJsonType(contentType)) return text
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new KilnError('KILN_ERR_BAD_REQUEST', `the body says ${contentType} but is not JSON: ${(err as Error).message}`)
  }
}

/** What POST /wf/NAME records as a Fission workflow's input. */
export function invocationOf(req: IncomingMessage, raw: Buffer): Invocation {
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue
    headers[canonicalHeader(k)] = Array.isArray(v) ? v[0]! : v
  }
  const url = new URL(req.url ?? '/', 'http://localhost')
  const query: Record<string, string> = {}
  for (const [k, v] of url.searchParams) if (!(k in query)) query[k] = v
  return { body: parseBody(raw, req.headers['content-type']), headers, query, method: req.method ?? 'POST' }
}

/** The media type a value is sent as when the task does not force one (their DetermineContentType). */
export function contentTypeOf(value: unknown): string {
  if (value !== null && typeof value === 'object') return 'application/json'
  return 'text/plain'
}

/** A workflow's answer: 204 for nothing, text for a string (or number), JSON for anything else. */
export function answer(res: ServerResponse, output: unknown, headers: Record<string, string>): void {
  if (res.destroyed) return
  if (output === null || output === undefined) {
    res.writeHead(204, headers)
    res.end()
    return
  }
  const text = typeof output === 'string' || typeof output === 'number'
  const body = text ? String(output) : JSON.stringify(output)
  res.writeHead(200, { ...headers, 'content-type': text ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) })
  res.end(body)
}

function stringMap(v: unknown): Record<string, string> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return {}
  const out: Record<string, string> = {}
  for (const [k, x] of Object.entries(v)) if (x !== undefined && x !== null) out[k] = typeof x === 'string' ? x : JSON.stringify(x)
  return out
}

/** A task's request from its inputs: body (or default), method, headers, query, content-type. */
export function requestOf(inputs: Record<string, unknown>, body: unknown, defaultMethod: string): { method: string; headers: Record<string, string>; query: Record<string, string>; contentType: string } {
  const forced = inputs['content-type']
  return {
    method: typeof inputs.method === 'string' && inputs.method !== '' ? inputs.method.toUpperCase() : defaultMethod,
    headers: stringMap(inputs.headers),
    query: stringMap(inputs.query),
    contentType: typeof forced === 'string' && forced !== '' ? forced : contentTypeOf(body),
  }
}

/** POST /wf/NAME for a workflow in Fission Workflows' format. */
export const fissionHttp = { input: invocationOf, answer }
