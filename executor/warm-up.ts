// Warm-up requests (`spec.warmup`, like App Engine's /_ah/warmup): sent to an instance made ready in the
// background (warm sets, minimum scale) after its code is loaded and before it serves anyone. A fresh
// instance runs the function's code in V8's interpreter with cold inline caches on its first calls;
// these calls pay that, so the first real request does not. They carry `x-kiln-warmup: 1` so a function
// can tell them apart, do not count as requests served, and whatever they answer, the instance serves
// (a function without a warm-up route may answer 404).
import type { Logger } from 'pino'
import type { FunctionWarmup } from '../core/types.js'
import type { InstanceRecord } from '../poolmgr/instance.js'
import type { FunctionState } from './function-state.js'

export const DEFAULT_WARMUP_REQUESTS = 3

export async function warmUp(rec: InstanceRecord, fs: FunctionState, w: FunctionWarmup, logger: Logger): Promise<void> {
  // Fission-protocol servers answer only on `/` (the router rewrites every path the same way).
  const q = w.path.indexOf('?')
  const path = fs.rootPath ? (q < 0 ? '/' : '/' + w.path.slice(q)) : w.path
  const n = w.requests ?? DEFAULT_WARMUP_REQUESTS
  for (let i = 0; i < n; i++) {
    try {
      const res = await rec.client.request({
        method: 'GET', path, headers: { 'x-kiln-warmup': '1', 'x-request-id': `warmup-${rec.id}-${i}` },
        headersTimeout: fs.timeoutMs, bodyTimeout: fs.timeoutMs,
      })
      await res.body.dump()
      if (res.statusCode >= 500) logger.warn({ function: fs.name, instance: rec.id, status: res.statusCode, path }, 'warm-up request failed; the instance serves anyway')
    } catch (err) {
      // A warm-up that breaks the instance shows as its exit; the caller checks the state after this.
      logger.warn({ err, function: fs.name, instance: rec.id, path }, 'warm-up request failed')
      return
    }
  }
}
