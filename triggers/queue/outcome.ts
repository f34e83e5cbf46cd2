// What an answer means for the message. A function's 2xx is success; any other answer of the
// function, and the platform's answers about the function (not found, crashed, timed out, too large),
// are failed attempts. The platform answering for itself — shutting down, not listening yet, the
// function's queue full, no capacity — says nothing about the message: it waits and is tried again,
// and no attempt is counted against it.
import type { InvocationResponse } from '../invoker.js'

export type Outcome =
  | { kind: 'ok'; res: InvocationResponse }
  | { kind: 'failed'; status: number; error: string }
  | { kind: 'unavailable'; error: string }

const PLATFORM_BUSY = new Set(['KILN_ERR_SHUTTING_DOWN', 'KILN_ERR_QUEUE_FULL', 'KILN_ERR_TOO_MANY_REQUESTS', 'KILN_ERR_NO_CAPACITY'])

/** The catalogue code and message of a platform answer (one a function gave has `x-kiln-instance`). */
function platformError(res: InvocationResponse): { code: string; message: string } | undefined {
  if (res.headers['x-kiln-instance'] !== undefined) return undefined
  try {
    const j = JSON.parse(res.body.toString('utf8')) as { error?: unknown; message?: unknown }
    if (typeof j.error === 'string' && j.error.startsWith('KILN_ERR_')) return { code: j.error, message: String(j.message ?? '') }
  } catch { /* not a catalogue answer */ }
  return undefined
}

export function classify(res: InvocationResponse): Outcome {
  if (res.status >= 200 && res.status < 300) return { kind: 'ok', res }
  const p = platformError(res)
  if (p && PLATFORM_BUSY.has(p.code)) return { kind: 'unavailable', error: `${p.code}: ${p.message}` }
  if (p) return { kind: 'failed', status: res.status, error: `${p.code}: ${p.message}` }
  const text = res.body.subarray(0, 512).toString('utf8')
  return { kind: 'failed', status: res.status, error: `the function answered ${res.status}${text ? `: ${text}` : ''}` }
}
