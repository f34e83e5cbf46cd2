// The kiln shape (and fission, which is the same): `async (req) => response`, `req.request === req`.
// Fission's older callback style `(context, callback)` with `callback(status, body, headers)` also works.
import { Reply } from '../respond.js'
import type { Shape } from './shape.js'

export const kiln: Shape = {
  call(fn, req) {
    if (fn.length < 2) return fn(req)
    return new Promise((resolve, reject) => {
      const callback = (status: number, body: unknown, headers?: Record<string, string>) =>
        resolve(new Reply(typeof status === 'number' ? status : 200, headers, body))
      try {
        const r = fn(req, callback) as Promise<unknown> | undefined
        if (r && typeof r.then === 'function') r.then(undefined, reject)
      } catch (err) {
        reject(err)
      }
    })
  },
}
