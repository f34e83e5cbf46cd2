// The rules a QueueTrigger spec follows beyond its schema, and how its URL is shown.
import { describe, expect, it } from 'vitest'
import { checkQueueTrigger, consumerGroupOf, redactUrl, subjectMatches } from '../../../core/queue-trigger.js'
import type { QueueTriggerSpec } from '../../../core/types.js'
import { validateResource } from '../../../core/validate.js'

const redis: QueueTriggerSpec = { kind: 'redis-stream', url: 'redis://127.0.0.1:6379', topic: 'orders', function: 'fn' }
const nats: QueueTriggerSpec = { kind: 'nats', url: 'nats://127.0.0.1:4222', topic: 'orders.new', function: 'fn' }

function refusal(spec: QueueTriggerSpec): string {
  try { checkQueueTrigger(spec) } catch (e) { return `${(e as { code: string }).code} ${(e as Error).message}` }
  return 'accepted'
}

describe('checkQueueTrigger', () => {
  it('accepts the broker URLs of each kind, a NATS cluster list, and wildcard NATS topics', () => {
    expect(refusal(redis)).toBe('accepted')
    expect(refusal({ ...redis, url: 'rediss://user:pw@cache.internal:6380/2' })).toBe('accepted')
    expect(refusal(nats)).toBe('accepted')
    expect(refusal({ ...nats, url: 'nats://a:4222, nats://b:4222', topic: 'orders.*', responseTopic: 'answers.new', errorTopic: 'dead.orders' })).toBe('accepted')
    expect(refusal({ ...nats, topic: 'orders.>' })).toBe('accepted')
  })

  it.each([
    ['a URL of the other kind', { ...redis, url: 'nats://127.0.0.1:4222' }, 'spec.url'],
    ['an http URL', { ...nats, url: 'http://127.0.0.1:4222' }, 'spec.url'],
    ['no URL at all', { ...redis, url: 'cache:6379' }, 'spec.url'],
    ['a response topic the trigger reads', { ...redis, responseTopic: 'orders' }, 'spec.responseTopic'],
    ['an error topic its NATS wildcard reads', { ...nats, topic: 'orders.>', errorTopic: 'orders.dead' }, 'spec.errorTopic'],
    ['a wildcard in a topic Kiln publishes to', { ...nats, responseTopic: 'answers.*' }, 'spec.responseTopic'],
    ['an empty NATS token', { ...nats, topic: 'orders..new' }, 'spec.topic'],
    ['> before the last token', { ...nats, topic: 'orders.>.new' }, 'spec.topic'],
    ['a partial-token wildcard', { ...nats, topic: 'orders.ne*' }, 'spec.topic'],
  ] as [string, QueueTriggerSpec, string][])('refuses %s, naming the field', (_what, spec, field) => {
    expect(refusal(spec)).toMatch(new RegExp(`^KILN_ERR_VALIDATION ${field.replace('.', '\\.')}:`))
  })

  it('the schema refuses an unknown kind, spaces in a topic and out-of-range numbers', () => {
    const check = (spec: object) => { try { validateResource('QueueTrigger', { metadata: { name: 't' }, spec: { ...redis, ...spec } }); return 'accepted' } catch (e) { return (e as Error).message } }
    expect(check({})).toBe('accepted')
    expect(check({ kind: 'kafka' })).toMatch(/spec\.kind/)
    expect(check({ topic: 'two words' })).toMatch(/spec\.topic/)
    expect(check({ maxRetries: -1 })).toMatch(/spec\.maxRetries/)
    expect(check({ concurrency: 0 })).toMatch(/spec\.concurrency/)
    expect(check({ contentType: 'text/plain\r\nx-evil: 1' })).toMatch(/spec\.contentType/)
    expect(check({ function: 'Not_A_Name' })).toMatch(/spec\.function/)
  })
})

describe('subjectMatches', () => {
  it('follows NATS wildcards: * one token, > one or more at the end', () => {
    expect(subjectMatches('a.*', 'a.b')).toBe(true)
    expect(subjectMatches('a.*', 'a.b.c')).toBe(false)
    expect(subjectMatches('a.>', 'a.b.c')).toBe(true)
    expect(subjectMatches('a.>', 'a')).toBe(false)
    expect(subjectMatches('a.b', 'a.b')).toBe(true)
    expect(subjectMatches('a.b', 'a.c')).toBe(false)
  })
})

describe('redactUrl', () => {
  it('hides passwords and bare tokens, keeps users and hosts', () => {
    expect(redactUrl('redis://:s3cret@127.0.0.1:6379')).toBe('redis://:***@127.0.0.1:6379')
    expect(redactUrl('rediss://app:s3cret@cache:6380/1')).toBe('rediss://app:***@cache:6380/1')
    expect(redactUrl('nats://t0ken@nats:4222,nats://u:p@other:4222')).toBe('nats://***@nats:4222,nats://u:***@other:4222')
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379')
  })
})

describe('consumerGroupOf', () => {
  it('is kiln-NAME in default (as before namespaces) and kiln-NS_NAME elsewhere, a valid NATS durable name', () => {
    expect(consumerGroupOf('orders')).toBe('kiln-orders')
    expect(consumerGroupOf('team-a/orders')).toBe('kiln-team-a_orders')
    expect(consumerGroupOf('team-a/orders')).not.toBe(consumerGroupOf('team-b/orders'))
    // NATS refuses whitespace, `.`, `*`, `>` and path separators in durable names.
    expect(consumerGroupOf('team-a/orders')).toMatch(/^[A-Za-z0-9_-]+$/)
  })
})
