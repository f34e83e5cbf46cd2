// The request object a function receives (kiln and fission shapes; the other shapes build theirs from it).
// Query and params are parsed on first read, so a function that never looks at them pays nothing.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import { parse as parseQuery, type ParsedUrlQuery } from 'node:querystring'

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}/

export class KilnRequest {
  readonly method: string
  readonly url: string
  readonly path: string
  readonly headers: IncomingHttpHeaders
  body: unknown
  /** Fission's context is the request: `context.request` is this same object. */
  readonly request: KilnRequest
  /** The raw Node objects, for functions that need them (Fission exposes `context.response`). */
  readonly raw: IncomingMessage
  readonly response: ServerResponse
  private _query: ParsedUrlQuery | undefined
  private _params: Record<string, string> | undefined

  constructor(raw: IncomingMessage, response: ServerResponse, body: unknown) {
    const url = raw.url ?? '/'
    const q = url.indexOf('?')
    this.method = raw.method ?? 'GET'
    this.url = url
    this.path = q === -1 ? url : url.slice(0, q)
    this.headers = raw.headers
    this.body = body
    this.request = this
    this.raw = raw
    this.response = response
    this._query = undefined
    this._params = undefined
  }

  /** The raw query string without `?` ('' when none). */
  get rawQuery(): string {
    const q = this.url.indexOf('?')
    return q === -1 ? '' : this.url.slice(q + 1)
  }

  /** Query parameters; a repeated key gives an array of its values. */
  get query(): ParsedUrlQuery {
    if (this._query === undefined) {
      const q = this.url.indexOf('?')
      this._query = q === -1 ? {} : { ...parseQuery(this.url.slice(q + 1)) }
    }
    return this._query
  }

  /** Route path params, sent by the router as the `x-kiln-params` JSON header. */
  get params(): Record<string, string> {
    if (this._params === undefined) {
      const h = this.headers['x-kiln-params']
      let p: unknown
      if (typeof h === 'string') {
        try {
          p = JSON.parse(h)
        } catch {
          p = undefined
        }
      }
      this._params = p !== null && typeof p === 'object' ? (p as Record<string, string>) : {}
    }
    return this._params
  }

  /** The W3C trace context of this call (the router always sends one), or undefined. */
  get traceparent(): string | undefined {
    const h = this.headers.traceparent
    return typeof h === 'string' ? h : undefined
  }

  /** The trace id (32 hex digits) of `traceparent`, for logs and outgoing calls. */
  get traceId(): string | undefined {
    const m = TRACEPARENT.exec(this.traceparent ?? '')
    return m === null ? undefined : m[1]
  }

  /** Express' `req.get(name)`: a header by case-insensitive name. */
  get(name: string): string | string[] | undefined {
    return this.headers[name.toLowerCase()]
  }

  toJSON(): object {
    const { method, url, path, query, params, headers, body } = this
    return { method, url, path, query, params, headers, body }
  }
}
