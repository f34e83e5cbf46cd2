// What a queue message becomes, the same for every kind: the function's request (the message body as
// the body, its headers, the content type, Kiln's and Fission's trigger headers), the message Kiln
// publishes to the response topic (the function's answer) and to the error topic (the original
// message, with why it failed). Message headers are untrusted: only valid HTTP names and values pass,
// never hop-by-hop ones or the headers the trigger itself sets.
import type { QueueTriggerSpec } from '../../core/types.js'
import { QUEUE_TRIGGER_DEFAULTS } from '../../core/types.js'
import { withoutHopByHop } from '../../router/headers.js'
import type { InvocationRequest, InvocationResponse } from '../invoker.js'
import type { Delivery, Outgoing } from './consumer.js'

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/
const VALUE = /^[\t\x20-\x7e\x80-\xff]{0,8192}$/
const MAX_HEADERS = 64
// Set by the trigger (or by the data plane) and so never taken from a message.
const RESERVED = /^(x-kiln-|x-fission-mqtrigger-|x-forwarded-|forwarded$|content-length$)/

export interface TriggerRef { name: string; spec: QueueTriggerSpec }

/** Headers as a function or a broker may carry them: valid, not hop-by-hop, not reserved, at most 64. */
export function passHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {}
  let n = 0
  for (const [k, v] of Object.entries(withoutHopByHop(Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]))))) {
    const value = Array.isArray(v) ? v.join(', ') : v
    if (!TOKEN.test(k) || RESERVED.test(k) || !VALUE.test(value)) continue
    out[k] = value
    if (++n >= MAX_HEADERS) break
  }
  return out
}

/** The function call for a message: POST / with the message body. */
export function requestFor(t: TriggerRef, d: Delivery): InvocationRequest {
  const s = t.spec
  return {
    method: 'POST',
    path: '/',
    body: d.body,
    headers: {
      ...passHeaders(d.headers),
      // The message's own content type wins over the trigger's declaration for its topic.
      'content-type': d.headers['content-type'] && VALUE.test(d.headers['content-type']) ? d.headers['content-type'] : (s.contentType ?? QUEUE_TRIGGER_DEFAULTS.contentType),
      'x-kiln-trigger': t.name,
      'x-kiln-topic': s.topic,
      'x-kiln-message-id': d.id,
      'x-kiln-delivery': String(d.deliveries),
      // What functions written for Fission's message queue triggers read.
      'x-fission-mqtrigger-topic': s.topic,
      'x-fission-mqtrigger-resptopic': s.responseTopic ?? '',
      'x-fission-mqtrigger-errortopic': s.errorTopic ?? '',
    },
  }
}

function origin(t: TriggerRef, d: Delivery): Record<string, string> {
  return { 'x-kiln-trigger': t.name, 'x-kiln-topic': t.spec.topic, 'x-kiln-message-id': d.id }
}

/** The answer published to the response topic: its body, content type and headers. */
export function responseMessage(t: TriggerRef, d: Delivery, res: InvocationResponse): Outgoing {
  const { date: _date, 'x-kiln-instance': _instance, ...headers } = res.headers
  return { body: res.body, headers: { ...passHeaders(headers), ...origin(t, d), 'x-kiln-status': String(res.status) } }
}

/** A message that used up its attempts, for the error topic: the original body and headers (so it can be
 *  published again as it was), and why: the function, the attempts, the last status and error. */
export function errorMessage(t: TriggerRef, d: Delivery, last: { status: number; error: string }): Outgoing {
  return {
    body: d.body,
    headers: {
      ...passHeaders(d.headers),
      ...origin(t, d),
      'x-kiln-function': t.spec.function,
      'x-kiln-attempts': String(d.deliveries),
      'x-kiln-status': String(last.status),
      'x-kiln-error': oneLine(last.error),
    },
  }
}

/** A header-safe rendering of an error text: one line of printable characters, at most 1 KiB. */
export function oneLine(s: string): string {
  return s.replace(/[^\x20-\x7e]+/g, ' ').trim().slice(0, 1024)
}
