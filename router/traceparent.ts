// W3C Trace Context (https://www.w3.org/TR/trace-context/) for requests that reach the router without
// a valid `traceparent` while tracing is off: every function still gets one, so its logs and its own
// outgoing calls share a trace id with whatever the platform records. Ids come from random bytes
// drawn and hex-encoded 256 requests at a time (no crypto call or encoding per request); the sampled
// flag is 0 because nothing records this hop.
import { randomFillSync } from 'node:crypto'

const PER_ID = 24 // 16 bytes of trace id, 8 of span id
const IDS = 256
const pool = Buffer.allocUnsafe(PER_ID * IDS)
let hex = ''
let next = IDS

export function newTraceparent(): string {
  if (next === IDS) {
    randomFillSync(pool)
    hex = pool.toString('hex')
    next = 0
  }
  const s = next++ * PER_ID * 2
  return '00-' + hex.slice(s, s + 32) + '-' + hex.slice(s + 32, s + 48) + '-00'
}

/** Version 00's shape (lower-case hex, fixed lengths, all-zero ids invalid); later versions may append fields. */
const SHAPE = /^[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}(-.*)?$/

export function isTraceparent(v: string): boolean {
  return v.length >= 55 && !v.startsWith('ff') && SHAPE.test(v) && (v.length === 55 || !v.startsWith('00-'))
}
