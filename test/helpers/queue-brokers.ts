// The test's own side of a queue trigger's broker, one shape for Redis Streams and NATS JetStream:
// publish a message, read every message on a topic, and read where a trigger's consumer group /
// durable consumer has got to. Real clients (ioredis, nats) against the real servers the helpers start.
// A trigger is named by its ref (`name`, or `ns/name`), as core/queue-trigger.ts consumerGroupOf takes it.
import { Redis } from 'ioredis'
import { consumerGroupOf } from '../../core/queue-trigger.js'
import { startNats } from './nats.js'
import { startRedis } from './redis.js'
import { AckPolicy, connect, DeliverPolicy, headers as natsHeaders, nanos, StorageType, type JetStreamManager, type NatsConnection } from 'nats'

export interface Msg { id: string; body: string; headers: Record<string, string> }

export interface TestBroker {
  readonly kind: 'redis-stream' | 'nats'
  readonly url: string
  /** Publishes a message (a `body` field plus header fields on Redis; data plus headers on NATS); its id. */
  publish(topic: string, body: string, headers?: Record<string, string>): Promise<string>
  /** Every message on the topic, oldest first ([] if there is no such topic yet). */
  read(topic: string): Promise<Msg[]>
  /** Ids this trigger's group has been handed (Redis: up to its last-delivered id; NATS: stream sequences up to its delivered one). */
  delivered(trigger: string, topic: string): Promise<string>
  /** Which of `ids` the trigger's consumer has surely acknowledged (Redis: delivered and not pending; NATS: at or below the ack floor). */
  acknowledged(trigger: string, topic: string, ids: string[]): Promise<string[]>
  /** Deliveries beyond the first of the messages the trigger holds now (Redis: pending entries' counts; NATS: num_redelivered). */
  redeliveries(trigger: string, topic: string): Promise<number>
  /** Takes `n` messages for the trigger's group as another process would, and never acknowledges them
   *  (a process that died holding them); creates the group / durable consumer (lease `leaseMs`) if missing. */
  abandon(trigger: string, topic: string, n: number, leaseMs: number): Promise<string[]>
  /** What the broker says of the topic and the trigger's group or consumer (for a failing test's message). */
  describe(trigger: string, topic: string): Promise<string>
  close(): Promise<void>
}

/** Orders Redis stream ids (`ms-seq`). */
export function streamIdCompare(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt) as [bigint, bigint]
  const [bm, bs] = b.split('-').map(BigInt) as [bigint, bigint]
  return am !== bm ? (am < bm ? -1 : 1) : as === bs ? 0 : as < bs ? -1 : 1
}

export function redisBroker(url: string): TestBroker {
  const r = new Redis(url, { maxRetriesPerRequest: 3 })
  r.on('error', () => { /* a test restarting the server; commands retry */ })
  return {
    kind: 'redis-stream',
    url,
    async publish(topic, body, headers = {}) {
      return (await r.xadd(topic, '*', 'body', body, ...Object.entries(headers).flat()))!
    },
    async read(topic) {
      const list = await r.xrange(topic, '-', '+')
      return list.map(([id, f]) => {
        const headers: Record<string, string> = {}
        let body = ''
        for (let i = 0; i < f.length; i += 2) { if (f[i] === 'body') body = f[i + 1]!; else headers[f[i]!] = f[i + 1]! }
        return { id, body, headers }
      })
    },
    async delivered(trigger, topic) {
      const groups = (await r.xinfo('GROUPS', topic)) as unknown[][]
      for (const g of groups) {
        const o: Record<string, unknown> = {}
        for (let i = 0; i < g.length; i += 2) o[String(g[i])] = g[i + 1]
        if (o.name === consumerGroupOf(trigger)) return String(o['last-delivered-id'])
      }
      return ''
    },
    async acknowledged(trigger, topic, ids) {
      const last = await this.delivered(trigger, topic)
      const pending = new Set(((await r.xpending(topic, consumerGroupOf(trigger), '-', '+', 100_000)) as [string][]).map(([id]) => id))
      return ids.filter((id) => streamIdCompare(id, last) <= 0 && !pending.has(id))
    },
    async redeliveries(trigger, topic) {
      const p = (await r.xpending(topic, consumerGroupOf(trigger), '-', '+', 100_000).catch((e: Error) => { if (/NOGROUP/.test(e.message)) return []; throw e })) as [string, string, number, number][]
      return p.reduce((sum, [, , , n]) => sum + Number(n) - 1, 0)
    },
    async abandon(trigger, topic, n) {
      await r.xgroup('CREATE', topic, consumerGroupOf(trigger), '0', 'MKSTREAM').catch((e: Error) => { if (!/BUSYGROUP/.test(e.message)) throw e })
      const got = (await r.xreadgroup('GROUP', consumerGroupOf(trigger), 'a-process-that-died', 'COUNT', n, 'STREAMS', topic, '>')) as [string, [string, string[]][]][] | null
      return (got?.[0]?.[1] ?? []).map(([id]) => id)
    },
    async describe(trigger, topic) {
      return JSON.stringify({ length: await r.xlen(topic), groups: await r.xinfo('GROUPS', topic).catch((e: Error) => e.message), pending: await r.xpending(topic, consumerGroupOf(trigger)).catch((e: Error) => e.message) })
    },
    async close() { r.disconnect() },
  }
}

export async function natsBroker(url: string): Promise<TestBroker> {
  const nc: NatsConnection = await connect({ servers: url.replace('nats://', ''), maxReconnectAttempts: -1, reconnectTimeWait: 200 })
  const jsm: JetStreamManager = await nc.jetstreamManager()
  const js = nc.jetstream()
  const stream = async (subject: string, create: boolean): Promise<string | undefined> => {
    try { return await jsm.streams.find(subject) } catch { /* none */ }
    if (!create) return undefined
    const name = `TEST_${subject.replace(/[^A-Za-z0-9]/g, '_')}`
    try {
      await jsm.streams.add({ name, subjects: [subject], storage: StorageType.File })
      return name
    } catch (err) {
      // The trigger under test made one for it meanwhile.
      return await jsm.streams.find(subject).catch(() => { throw err })
    }
  }
  return {
    kind: 'nats',
    url,
    async publish(topic, body, headers = {}) {
      const h = natsHeaders()
      for (const [k, v] of Object.entries(headers)) h.set(k, v)
      // 503: no stream listens yet (the trigger under test may be making one just now): again, briefly.
      for (let i = 0; ; i++) {
        await stream(topic, true)
        try {
          return String((await js.publish(topic, new TextEncoder().encode(body), { headers: h })).seq)
        } catch (err) {
          if ((err as { code?: string }).code !== '503' || i >= 50) throw err
          await new Promise((r) => setTimeout(r, 100))
        }
      }
    },
    async read(topic) {
      const name = await stream(topic, false)
      if (!name) return []
      const { state } = await jsm.streams.info(name)
      const out: Msg[] = []
      for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
        const m = await jsm.streams.getMessage(name, { seq }).catch(() => undefined)
        if (!m || m.subject !== topic) continue
        const headers: Record<string, string> = {}
        for (const k of m.header?.keys() ?? []) headers[k.toLowerCase()] = m.header.get(k)
        out.push({ id: String(seq), body: new TextDecoder().decode(m.data), headers })
      }
      return out
    },
    async delivered(trigger, topic) {
      const name = await stream(topic, false)
      if (!name) return ''
      return String((await jsm.consumers.info(name, consumerGroupOf(trigger))).delivered.stream_seq)
    },
    async acknowledged(trigger, topic, ids) {
      const name = await stream(topic, false)
      if (!name) return []
      const floor = (await jsm.consumers.info(name, consumerGroupOf(trigger))).ack_floor.stream_seq
      return ids.filter((id) => Number(id) <= floor)
    },
    async redeliveries(trigger, topic) {
      const name = await stream(topic, false)
      if (!name) return 0
      return (await jsm.consumers.info(name, consumerGroupOf(trigger)).catch((e: Error) => { if (/consumer not found/.test(e.message)) return { num_redelivered: 0 }; throw e })).num_redelivered
    },
    async abandon(trigger, topic, n, leaseMs) {
      const name = (await stream(topic, true))!
      await jsm.consumers.add(name, { durable_name: consumerGroupOf(trigger), ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, filter_subject: topic, ack_wait: nanos(leaseMs), max_deliver: -1 })
      const c = await js.consumers.get(name, consumerGroupOf(trigger))
      const ids: string[] = []
      for await (const m of await c.fetch({ max_messages: n, expires: 2000 })) ids.push(String(m.seq))
      return ids
    },
    async describe(trigger, topic) {
      const name = await stream(topic, false)
      if (!name) return `no stream for ${topic}`
      const si = await jsm.streams.info(name)
      const ci = await jsm.consumers.info(name, consumerGroupOf(trigger)).catch((e: Error) => e.message)
      return JSON.stringify({ stream: name, state: si.state, consumer: typeof ci === 'string' ? ci : { config: ci.config, delivered: ci.delivered, ack_floor: ci.ack_floor, num_ack_pending: ci.num_ack_pending, num_redelivered: ci.num_redelivered, num_waiting: ci.num_waiting, num_pending: ci.num_pending } })
    },
    async close() { await nc.close() },
  }
}

/** The kinds a queue trigger suite runs against: its server, the test's client, and a topic name in its syntax. */
export const QUEUE_KINDS = [
  { kind: 'redis-stream', start: startRedis, client: async (url: string) => redisBroker(url), topic: (s: string) => `q:${s}` },
  { kind: 'nats', start: startNats, client: natsBroker, topic: (s: string) => `q.${s}` },
] as const
