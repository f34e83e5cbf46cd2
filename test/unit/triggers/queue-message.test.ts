// What a queue message becomes (the function's request, the response and error messages), how an
// answer is classified, and how a Redis stream entry is read. Message headers are untrusted.
import { describe, expect, it } from 'vitest'
import type { QueueTriggerSpec } from '../../../core/types.js'
import type { Delivery } from '../../../triggers/queue/consumer.js'
import { errorMessage, passHeaders, requestFor, responseMessage } from '../../../triggers/queue/message.js'
import { classify } from '../../../triggers/queue/outcome.js'
import { decodeEntry } from '../../../triggers/queue/redis-stream.js'

const spec: QueueTriggerSpec = { kind: 'redis-stream', url: 'redis://x', topic: 'in', function: 'fn', responseTopic: 'out', errorTopic: 'dead' }
const t = { name: 'orders', spec }
const noop = async () => undefined
const delivery = (headers: Record<string, string>, body = '{"a":1}'): Delivery => ({ id: '1-0', body: Buffer.from(body), headers, deliveries: 2, ack: noop, retry: noop, extend: noop })
const json = (status: number, body: unknown, headers: Record<string, string> = {}) => ({ status, headers: { 'content-type': 'application/json', ...headers }, body: Buffer.from(JSON.stringify(body)) })

describe('requestFor', () => {
  it('POSTs the body with the trigger headers, Fission\'s too, and the default content type', () => {
    const r = requestFor(t, delivery({ 'x-app': 'v' }))
    expect(r).toMatchObject({ method: 'POST', path: '/' })
    expect(r.body!.toString()).toBe('{"a":1}')
    expect(r.headers).toEqual({
      'x-app': 'v', 'content-type': 'application/json',
      'x-kiln-trigger': 'orders', 'x-kiln-topic': 'in', 'x-kiln-message-id': '1-0', 'x-kiln-delivery': '2',
      'x-fission-mqtrigger-topic': 'in', 'x-fission-mqtrigger-resptopic': 'out', 'x-fission-mqtrigger-errortopic': 'dead',
    })
  })

  it('never takes from a message what the trigger or the data plane sets, nor invalid headers', () => {
    const h = requestFor(t, delivery({
      'x-kiln-trigger': 'spoofed', 'x-kiln-delivery': '1', 'x-fission-mqtrigger-topic': 'spoofed', 'x-forwarded-for': '6.6.6.6',
      'content-length': '1', host: 'evil', connection: 'close', 'transfer-encoding': 'chunked',
      'bad name': 'x', 'x-newline': 'a\r\nx-injected: 1', 'x-ok': 'fine', 'content-type': 'text/plain',
    })).headers
    expect(h['x-kiln-trigger']).toBe('orders')
    expect(h['x-kiln-delivery']).toBe('2')
    expect(h['x-fission-mqtrigger-topic']).toBe('in')
    for (const k of ['x-forwarded-for', 'content-length', 'host', 'connection', 'transfer-encoding', 'bad name', 'x-newline', 'x-injected']) expect(h).not.toHaveProperty(k)
    expect(h['x-ok']).toBe('fine')
    expect(h['content-type']).toBe('text/plain')
  })

  it('passes at most 64 message headers', () => {
    const many = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`x-h${i}`, 'v']))
    expect(Object.keys(passHeaders(many))).toHaveLength(64)
  })
})

describe('responseMessage and errorMessage', () => {
  it("publish the function's answer with its headers and where it came from", () => {
    const m = responseMessage(t, delivery({}), json(201, { ok: true }, { date: 'x', 'x-kiln-instance': 'i-1', 'x-out': 'y' }))
    expect(m.body.toString()).toBe('{"ok":true}')
    expect(m.headers).toEqual({ 'content-type': 'application/json', 'x-out': 'y', 'x-kiln-trigger': 'orders', 'x-kiln-topic': 'in', 'x-kiln-message-id': '1-0', 'x-kiln-status': '201' })
  })

  it('send the original message to the error topic with the function, attempts, status and a one-line error', () => {
    const m = errorMessage(t, delivery({ 'x-app': 'v' }, 'payload'), { status: 500, error: 'boom\r\nx-evil: 1' })
    expect(m.body.toString()).toBe('payload')
    expect(m.headers).toEqual({
      'x-app': 'v', 'x-kiln-trigger': 'orders', 'x-kiln-topic': 'in', 'x-kiln-message-id': '1-0',
      'x-kiln-function': 'fn', 'x-kiln-attempts': '2', 'x-kiln-status': '500', 'x-kiln-error': 'boom x-evil: 1',
    })
  })
})

describe('classify', () => {
  const fromFunction = { 'x-kiln-instance': 'i-1' }
  it('2xx succeeds; any other answer of the function fails with its status and body', () => {
    expect(classify(json(204, '')).kind).toBe('ok')
    expect(classify({ status: 500, headers: fromFunction, body: Buffer.from('nope') })).toEqual({ kind: 'failed', status: 500, error: 'the function answered 500: nope' })
    // A function answering with the platform's words is still the function.
    expect(classify(json(503, { error: 'KILN_ERR_SHUTTING_DOWN', message: 'x' }, fromFunction)).kind).toBe('failed')
  })

  it("the platform's answers about the function fail; about itself they say nothing of the message", () => {
    expect(classify(json(504, { error: 'KILN_ERR_FUNCTION_TIMEOUT', message: 'slow' }))).toEqual({ kind: 'failed', status: 504, error: 'KILN_ERR_FUNCTION_TIMEOUT: slow' })
    expect(classify(json(404, { error: 'KILN_ERR_FUNCTION_NOT_FOUND', message: 'gone' })).kind).toBe('failed')
    for (const code of ['KILN_ERR_SHUTTING_DOWN', 'KILN_ERR_QUEUE_FULL', 'KILN_ERR_TOO_MANY_REQUESTS', 'KILN_ERR_NO_CAPACITY']) {
      expect(classify(json(503, { error: code, message: 'busy' })).kind).toBe('unavailable')
    }
  })
})

describe('decodeEntry', () => {
  const fields = (...kv: string[]) => kv.map((s) => Buffer.from(s))
  it('takes the body field as bytes and the other fields as headers', () => {
    const e = decodeEntry([...fields('Content-Type', 'text/plain', 'body'), Buffer.from([0xff, 0x00, 0x01]), ...fields('x-a', 'b')])
    expect([...e.body]).toEqual([0xff, 0x00, 0x01])
    expect(e.headers).toEqual({ 'content-type': 'text/plain', 'x-a': 'b' })
  })

  it('makes an entry without a body field a JSON object of its fields', () => {
    const e = decodeEntry(fields('user', 'ada', 'action', 'login'))
    expect(JSON.parse(e.body.toString())).toEqual({ user: 'ada', action: 'login' })
    expect(e.headers).toEqual({ 'content-type': 'application/json' })
  })
})
