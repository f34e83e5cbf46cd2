// Queue triggers on Redis Streams. One consumer group per trigger (`kiln-NAME`; `kiln-NS_NAME` outside
// `default`, core/queue-trigger.ts consumerGroupOf), created at the trigger's creation time, and one
// consumer per platform process. A message is an entry: its `body`
// field is the body and its other fields are headers; an entry without `body` arrives as a JSON object
// of its fields. Kiln publishes entries of the same shape (XADD), so a response topic can feed another trigger.
// - Delivery counts are Redis's own (the pending entries list): a read, a claim or a re-read of a
//   consumer's own history each count one.
// - In flight: `extend()` re-claims the entry for this consumer with JUSTID, which resets its idle
//   time without counting a delivery. That is the lease: XAUTOCLAIM takes only entries idle for
//   longer, i.e. held by a process that stopped.
// - Handed back (`retry`): the entry stays pending; a timer re-claims it (XCLAIM, counted) after the
//   delay, unless another consumer took it first; if this process stops before, the lease brings it back.
// - At start, this consumer first re-reads its own pending entries (a crash left them unacknowledged);
//   the consumer name is stable per data dir, so a restarted `kiln up` resumes them at once.
import { Redis } from 'ioredis'
import { consumerGroupOf, redactUrl } from '../../core/queue-trigger.js'
import { brokerName } from '../../core/refs.js'
import type { ConsumerOptions, Delivery, Outgoing, QueueConsumer } from './consumer.js'

/** How long one read waits for new entries: the longest a stop or a handed-back message waits for a pull. */
const BLOCK_MS = 1000

type Entry = [id: string, fields: Buffer[] | null]

/** XCLAIM's reply, and XAUTOCLAIM's second element: [[id, fields | null], ...]. */
function entries(list: unknown): Entry[] {
  return ((list as [Buffer, Buffer[] | null][] | null) ?? []).map(([id, fields]) => [id.toString(), fields])
}

/** XREADGROUP's reply for one stream: [[stream, entries]], or null when nothing came. */
function read(reply: unknown): Entry[] {
  return entries((reply as [Buffer, unknown][] | null)?.[0]?.[1])
}

/** An entry's body and headers (field names lower-cased; the last of a repeated field wins). */
export function decodeEntry(fields: Buffer[]): { body: Buffer; headers: Record<string, string> } {
  let body: Buffer | undefined
  const headers: Record<string, string> = {}
  const all: Record<string, string> = {}
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]!.toString('utf8')
    if (name === 'body') { body = fields[i + 1]!; continue }
    headers[name.toLowerCase()] = fields[i + 1]!.toString('utf8')
    all[name] = fields[i + 1]!.toString('utf8')
  }
  if (body !== undefined) return { body, headers }
  return { body: Buffer.from(JSON.stringify(all)), headers: { 'content-type': 'application/json' } }
}

function encodeEntry(msg: Outgoing): (string | Buffer)[] {
  const out: (string | Buffer)[] = ['body', msg.body]
  for (const [k, v] of Object.entries(msg.headers)) out.push(k, v)
  return out
}

export class RedisStreamConsumer implements QueueConsumer {
  private reader: Redis | undefined
  private writer: Redis | undefined
  private readonly key: string
  private readonly group: string
  /** Where re-reading this consumer's own pending entries has got to; undefined once done. */
  private history: string | undefined = '0'
  /** XAUTOCLAIM's cursor: '0-0' starts a new sweep. */
  private sweep = '0-0'
  private lastSweep = 0
  /** Entries delivered here and neither acknowledged nor handed back. */
  private readonly held = new Set<string>()
  /** Handed-back entries claimed again after their delay, delivered by the next pull. */
  private readonly due: Delivery[] = []
  private readonly timers = new Set<NodeJS.Timeout>()
  private closed = false

  constructor(private readonly o: ConsumerOptions) {
    this.key = o.spec.topic
    this.group = consumerGroupOf(o.ref)
  }

  async open(): Promise<void> {
    if (!this.writer) {
      // Commands wait for a reconnect a little, then fail: the runner backs off and logs, ioredis keeps reconnecting.
      const opts = { maxRetriesPerRequest: 2, retryStrategy: (n: number) => Math.min(100 * 2 ** n, 5000), connectionName: `kiln-mq-${brokerName(this.o.ref)}` }
      this.writer = new Redis(this.o.spec.url, opts)
      this.reader = new Redis(this.o.spec.url, opts)
      // Up once both connections are ready; down as soon as either closes.
      const ready = () => { if (!this.closed && this.writer?.status === 'ready' && this.reader?.status === 'ready') this.o.onConnection(true) }
      const closed = () => { if (!this.closed) this.o.onConnection(false, new Error(`connection to ${redactUrl(this.o.spec.url)} closed`)) }
      for (const r of [this.writer, this.reader]) {
        r.on('error', () => { /* reported through 'close' and failed commands */ })
        r.on('ready', ready)
        r.on('close', closed)
      }
    }
    // The group starts after the last entry of the millisecond before the trigger was created.
    const start = `${Math.max(0, this.o.createdAt.getTime() - 1)}-18446744073709551615`
    try {
      await this.writer.xgroup('CREATE', this.key, this.group, start, 'MKSTREAM')
    } catch (err) {
      if (!/BUSYGROUP/.test((err as Error).message)) throw err
    }
  }

  async pull(max: number, deliver: (d: Delivery) => void): Promise<void> {
    const w = this.writer!
    // 1. What this consumer held when it last stopped, before anything new.
    if (this.history !== undefined) {
      const got = read(await w.callBuffer('XREADGROUP', 'GROUP', this.group, this.o.consumer, 'COUNT', max, 'STREAMS', this.key, this.history))
      if (got.length === 0) this.history = undefined
      else {
        this.history = got[got.length - 1]![0]
        return this.deliverAll(got, deliver)
      }
    }
    // 2. Handed-back entries whose delay has passed.
    if (this.due.length > 0) {
      for (const d of this.due.splice(0, max)) deliver(d)
      return
    }
    // 3. Entries another process held past the lease (it stopped, or its host went away).
    if (this.sweep !== '0-0' || Date.now() - this.lastSweep >= this.o.leaseMs / 2) {
      if (this.sweep === '0-0') this.lastSweep = Date.now()
      const reply = (await w.callBuffer('XAUTOCLAIM', this.key, this.group, this.o.consumer, this.o.leaseMs, this.sweep, 'COUNT', max)) as [Buffer, unknown]
      this.sweep = reply[0].toString()
      const got = entries(reply[1]).filter(([id]) => !this.held.has(id))
      if (got.length > 0) return this.deliverAll(got, deliver)
    }
    // 4. New entries.
    const got = read(await this.reader!.callBuffer('XREADGROUP', 'GROUP', this.group, this.o.consumer, 'COUNT', max, 'BLOCK', BLOCK_MS, 'STREAMS', this.key, '>'))
    for (const [id, fields] of got) if (fields) deliver(this.delivery(id, fields, 1))
  }

  /** Entries read again (history, claims): their delivery counts come from the pending entries list. */
  private async deliverAll(got: Entry[], deliver: (d: Delivery) => void): Promise<void> {
    const pending = (await this.writer!.xpending(this.key, this.group, got[0]![0], got[got.length - 1]![0], got.length + this.held.size + this.due.length, this.o.consumer)) as [string, string, number, number][]
    const counts = new Map(pending.map(([id, , , n]) => [id, Number(n)]))
    for (const [id, fields] of got) {
      // An entry trimmed from the stream while pending: nothing is left to run.
      if (!fields) { await this.writer!.xack(this.key, this.group, id); continue }
      deliver(this.delivery(id, fields, counts.get(id) ?? 2))
    }
  }

  private delivery(id: string, fields: Buffer[], deliveries: number): Delivery {
    const { body, headers } = decodeEntry(fields)
    this.held.add(id)
    return {
      id, body, headers, deliveries,
      ack: async () => {
        await this.writer!.xack(this.key, this.group, id)
        this.held.delete(id)
      },
      extend: async () => {
        await this.writer!.xclaim(this.key, this.group, this.o.consumer, 0, id, 'JUSTID')
      },
      retry: async (delayMs) => {
        this.held.delete(id)
        const t = setTimeout(() => {
          this.timers.delete(t)
          // Half the delay as the idle guard: if another consumer claimed it meanwhile, it is theirs.
          void this.writer!.callBuffer('XCLAIM', this.key, this.group, this.o.consumer, Math.floor(delayMs / 2), id).then((reply) => {
            const [again] = entries(reply)
            if (again?.[1] && !this.closed) this.due.push(this.delivery(id, again[1], deliveries + 1))
          }, () => { /* the lease brings it back */ })
        }, delayMs)
        this.timers.add(t)
      },
    }
  }

  async publish(topic: string, msg: Outgoing): Promise<void> {
    await this.writer!.xadd(topic, '*', ...encodeEntry(msg))
  }

  async close(): Promise<void> {
    this.closed = true
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    this.reader?.disconnect()
    await this.writer?.quit().catch(() => this.writer?.disconnect())
  }
}
