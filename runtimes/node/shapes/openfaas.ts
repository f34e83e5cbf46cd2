// The OpenFaaS `node` template shape: `async (event, context)`, answering through
// `context.status(n).headers(h).succeed(body)` / `.fail(err)` or with the returned value.
import type { KilnRequest } from '../request.js'
import { Reply } from '../respond.js'
import type { Shape } from './shape.js'

class FunctionEvent {
  body: unknown
  headers: KilnRequest['headers']
  method: string
  query: KilnRequest['query']
  path: string
  constructor(req: KilnRequest) {
    this.body = req.body
    this.headers = req.headers
    this.method = req.method
    this.query = req.query
    this.path = req.path
  }
}

class FunctionContext {
  statusCode = 200
  headerValues: Record<string, string> = {}
  cbCalled = 0
  constructor(private cb: (err: unknown, value?: unknown) => void) {}
  status(code?: number): any {
    if (!code) return this.statusCode
    this.statusCode = code
    return this
  }
  headers(value?: Record<string, string>): any {
    if (!value) return this.headerValues
    this.headerValues = value
    return this
  }
  succeed(value: unknown): void {
    this.cbCalled++
    this.cb(undefined, value)
  }
  fail(err: unknown): void {
    this.cbCalled++
    this.cb(err ?? new Error('function failed'))
  }
}

export const openfaas: Shape = {
  call(fn, req) {
    return new Promise((resolve, reject) => {
      let settled = false
      const cb = (err: unknown, value?: unknown) => {
        if (settled) return
        settled = true
        if (err !== undefined) reject(err)
        else resolve(new Reply(ctx.statusCode, ctx.headerValues, value))
      }
      const ctx = new FunctionContext(cb)
      try {
        Promise.resolve(fn(new FunctionEvent(req), ctx, cb)).then(
          (v) => {
            if (!ctx.cbCalled) ctx.succeed(v)
          },
          (err) => cb(err ?? new Error('function rejected')),
        )
      } catch (err) {
        cb(err ?? new Error('function threw'))
      }
    })
  },
}
