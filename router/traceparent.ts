// W3C Trace Context (https://www.w3.org/TR/trace-context/) for requests that reach the router without
// a valid `traceparent` while tracing is off: every function still gets one, so its logs and its own
// outgoing calls share a trace id with whatever the platform records. Ids come from a buffer of random
// bytes refilled 256 requests at a time (no crypto call per request); the sampled flag is 0 because
// nothing records this hop.
import { randomFillSync } from 'node:crypto'

const PER_ID = 24 // 16 bytes of trace id, 8 of span id
const pool = Buffer.allocUnsafe(PER_ID * 256)
let at = pool.length

export function newTraceparent(): string {
  if (at === pool.length) {
    randomFillSync(pool)
    at = 0
  }
  const s = at
  at += PER_ID
  return `00-${pool.toString('hex', s, s + 16)}-${pool.toString('hex', s + 16, s + PER_ID)}-00`
}

/** Version 00's shape (lower-case hex, fixed lengths, all-zero ids invalid); later versions may append fields. */
const SHAPE = /^[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}(-.*)?$/

export function isTraceparent(v: string): boolean {
  return v.length >= 55 && !v.startsWith('ff') && SHAPE.test(v) && (v.length === 55 || !v.startsWith('00-'))
}
