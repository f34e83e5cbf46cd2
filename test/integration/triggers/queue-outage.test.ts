// A queue trigger whose broker goes away (redis-server / nats-server SIGKILLed and started again on
// its data): one warn log when it goes, one info log when it is back, the message that was in flight
// answered and acknowledged once the broker is back, and consumption resumes. Both kinds, one suite.
import { Writable } from 'node:stream'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CachedStore } from '../../../core/store/resource-store.js'
import type { QueueTriggerResource } from '../../../core/types.js'
import { PlatformInvoker } from '../../../triggers/platform-invoker.js'
import { QueueTriggerSource } from '../../../triggers/queue/source.js'
import { startTestPlatform, type TestPlatform } from '../../helpers/platform.js'
import { QUEUE_KINDS, type TestBroker } from '../../helpers/queue-brokers.js'
import { until } from '../../helpers/until.js'

const ECHO = join(import.meta.dirname, '../../fixtures/queue/echo.mjs')

describe.each(QUEUE_KINDS)('a $kind broker outage under a queue trigger', ({ kind, start, client, topic }) => {
  let server: { url: string; restart(): Promise<void>; stop(): Promise<void> }
  let p: TestPlatform
  let b: TestBroker
  const invoker = new PlatformInvoker()
  const store = new CachedStore<QueueTriggerResource>('QueueTrigger')
  const lines: { level: number; msg: string; trigger?: string }[] = []
  const logger = pino({ level: 'info' }, new Writable({ write(chunk, _enc, cb) { lines.push(JSON.parse(String(chunk))); cb() } }))
  let source: QueueTriggerSource

  beforeAll(async () => {
    server = await start()
    p = await startTestPlatform()
    invoker.setOrigin(p.url)
    b = await client(server.url)
    await p.deploy('echo', ECHO, { maxScale: 1 })
    source = new QueueTriggerSource({ store, invoker, logger, leaseMs: 3000, consumer: 'outage-test' })
    await source.start()
  })

  afterAll(async () => {
    await source?.stop()
    await invoker.close()
    await b?.close()
    await p?.stop()
    await server?.stop()
  })

  it('logs warn once and info when back, finishes the message in flight and goes on consuming', async () => {
    const [inT, outT] = [topic('in'), topic('out')]
    await store.create({ metadata: { name: 'steady' }, spec: { kind, url: server.url, topic: inT, function: 'echo', responseTopic: outT } })
    const answered = (n: number) => until(`${n} answers`, async () => (await b.read(outT)).length >= n, 30_000)

    const m1 = await b.publish(inT, '"before"')
    await answered(1)
    // A slow message in flight when the broker dies: its answer and its ack wait for the broker.
    const m2 = await b.publish(inT, '"during"', { 'x-delay-ms': '1500' })
    await until('the slow message in flight', async () => source.status('steady')?.inFlight === 1)
    await server.restart()
    const m3 = await b.publish(inT, '"after"')

    // At least once: a broker killed before it saved an acknowledgement delivers that message again.
    await until('all three answered', async () => {
      const ids = new Set((await b.read(outT)).map((m) => m.headers['x-kiln-message-id']))
      return [m1, m2, m3].every((id) => ids.has(id))
    }, 30_000)
    await until('all acknowledged', async () => (await b.acknowledged('steady', inT, [m1, m2, m3])).length === 3)

    const mine = lines.filter((l) => l.trigger === 'steady')
    expect(mine.filter((l) => l.level === 40).map((l) => l.msg)).toEqual(['queue broker unreachable; retrying with backoff (messages stay with the broker)'])
    expect(mine.filter((l) => l.level === 30).map((l) => l.msg)).toEqual(['consuming', 'queue broker reachable again; consuming'])
    const st = source.status('steady')!
    expect(st).toMatchObject({ connected: true, inFlight: 0, deadLettered: 0, failedAttempts: 0 })
    // nats-server keeps a consumer's recent acknowledgements in memory for a while: killed, it may deliver them again.
    if (kind === 'redis-stream') expect(st.succeeded).toBe(3)
    else expect(st.succeeded).toBeGreaterThanOrEqual(3)
  })
})
