// Queue triggers on NATS JetStream. One durable pull consumer per trigger (`kiln-NAME`; `kiln-NS_NAME`
// outside `default`, core/queue-trigger.ts consumerGroupOf) on the stream that captures the topic,
// starting at the trigger's creation time; every platform process pulls
// from it, so they share the work. A message's data is the body and its NATS headers are headers.
// - Kiln makes sure a stream captures the topic, the response topic and the error topic: it uses the
//   one that does, or creates `KILN_<subject>` (file storage, default limits) — so an answer or a dead
//   letter is stored (acknowledged by JetStream) before the message it came from is acknowledged.
// - Delivery counts are JetStream's (`redeliveryCount`); the consumer has no max_deliver of its own,
//   the runner decides when a message has had its attempts.
// - In flight: `extend()` is a work-in-progress ack, which restarts the ack wait (the lease). Handed
//   back: a nak with the delay. A stopped process's messages come back when their ack wait runs out.
// - Acknowledgements are confirmed by the server (a request on the message's ack subject), and can be
//   repeated after a reconnect.
import { createHash } from 'node:crypto'
import { AckPolicy, connect, DeliverPolicy, headers as natsHeaders, nanos, StorageType, type ConnectionOptions, type Consumer, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg, type NatsConnection } from 'nats'
import { brokerUrls, consumerGroupOf } from '../../core/queue-trigger.js'
import { brokerName } from '../../core/refs.js'
import type { ConsumerOptions, Delivery, Outgoing, QueueConsumer } from './consumer.js'

const ACK = new TextEncoder().encode('+ACK')
const FETCH_EXPIRES_MS = 1000

/** The stream Kiln creates for a subject no stream captures: a valid stream name, distinct per subject. */
export function streamName(subject: string): string {
  const readable = subject.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 48)
  return `KILN_${readable}_${createHash('sha256').update(subject).digest('hex').slice(0, 8)}`
}

/** Connection options from the trigger's URL(s): servers, and the user/password or token in them. */
function connection(url: string): ConnectionOptions {
  const urls = brokerUrls({ kind: 'nats', url })
  const first = urls[0]!
  const auth: ConnectionOptions = first.password
    ? { user: decodeURIComponent(first.username), pass: decodeURIComponent(first.password) }
    : first.username ? { token: decodeURIComponent(first.username) } : {}
  return {
    servers: urls.map((u) => `${u.hostname.includes(':') ? `[${u.hostname}]` : u.hostname}:${u.port || 4222}`),
    ...auth,
    ...(urls.some((u) => u.protocol === 'tls:') ? { tls: {} } : {}),
  }
}

function isNotFound(err: unknown): boolean {
  const e = err as { code?: unknown; api_error?: { code?: number } }
  return e?.api_error?.code === 404 || e?.code === '404' || e?.code === 404
}

export class NatsConsumer implements QueueConsumer {
  private nc: NatsConnection | undefined
  private jsm: JetStreamManager | undefined
  private js: JetStreamClient | undefined
  private consumer: Consumer | undefined
  private readonly durable: string
  /** Output subjects known to be captured by a stream. */
  private readonly captured = new Set<string>()
  private closed = false
  private connected = false
  /** The pull under way, stopped before the connection closes (the client complains otherwise). */
  private fetching: ConsumerMessages | undefined

  constructor(private readonly o: ConsumerOptions) {
    this.durable = consumerGroupOf(o.ref)
  }

  async open(): Promise<void> {
    if (!this.nc) {
      const nc = await connect({ ...connection(this.o.spec.url), name: `kiln-mq-${brokerName(this.o.ref)}`, maxReconnectAttempts: -1, reconnectTimeWait: 500 })
      if (this.closed) { await nc.close(); throw new Error('closed') }
      this.nc = nc
      this.connected = true
      void this.watch(nc)
      this.jsm = await nc.jetstreamManager()
      this.js = nc.jetstream()
    }
    const jsm = this.jsm!
    const stream = await this.streamFor(this.o.spec.topic)
    const want = {
      durable_name: this.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: this.o.createdAt.toISOString(),
      filter_subject: this.o.spec.topic,
      ack_wait: nanos(this.o.leaseMs),
      max_deliver: -1,
    }
    let have
    try { have = await jsm.consumers.info(stream, this.durable) } catch (err) { if (!isNotFound(err)) throw err }
    if (have && have.config.filter_subject !== this.o.spec.topic) {
      // A trigger re-added under this name for another topic: its old position means nothing.
      await jsm.consumers.delete(stream, this.durable)
      have = undefined
    }
    if (!have) await jsm.consumers.add(stream, want)
    else if (have.config.ack_wait !== want.ack_wait) await jsm.consumers.update(stream, this.durable, { ack_wait: want.ack_wait })
    this.consumer = await this.js!.consumers.get(stream, this.durable)
  }

  private async watch(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (this.closed) return
      if (s.type === 'disconnect') { this.connected = false; this.o.onConnection(false, new Error(`disconnected from ${String(s.data)}`)) }
      else if (s.type === 'reconnect') { this.connected = true; this.o.onConnection(true) }
    }
  }

  /** The stream that captures `subject`, created when none does. */
  private async streamFor(subject: string): Promise<string> {
    try {
      return await this.jsm!.streams.find(subject)
    } catch (err) {
      if (!/no stream matches subject/i.test((err as Error).message)) throw err
    }
    const name = streamName(subject)
    try {
      await this.jsm!.streams.add({ name, subjects: [subject], storage: StorageType.File })
      return name
    } catch (err) {
      // Someone else made a stream for it meanwhile (another replica, or its publisher).
      return await this.jsm!.streams.find(subject).catch(() => { throw err })
    }
  }

  async pull(max: number, deliver: (d: Delivery) => void): Promise<void> {
    // A pull while reconnecting would end empty, as if all were well.
    if (!this.connected) throw new Error('not connected to NATS')
    const msgs = await this.consumer!.fetch({ max_messages: max, expires: FETCH_EXPIRES_MS })
    this.fetching = msgs
    try {
      for await (const m of msgs) deliver(this.delivery(m))
    } finally {
      this.fetching = undefined
    }
  }

  private delivery(m: JsMsg): Delivery {
    const headers: Record<string, string> = {}
    for (const k of m.headers?.keys() ?? []) headers[k.toLowerCase()] = m.headers!.get(k)
    const reply = (m as JsMsg & { reply?: string }).reply
    return {
      id: String(m.seq),
      body: Buffer.from(m.data),
      headers,
      deliveries: m.info.redeliveryCount,
      ack: async () => {
        if (!reply) { if (!(await m.ackAck())) throw new Error('acknowledgement not confirmed'); return }
        await this.nc!.request(reply, ACK, { timeout: 5000 })
      },
      extend: async () => m.working(),
      retry: async (delayMs) => m.nak(delayMs),
    }
  }

  async publish(topic: string, msg: Outgoing): Promise<void> {
    if (!this.captured.has(topic)) {
      await this.streamFor(topic)
      this.captured.add(topic)
    }
    const h = natsHeaders()
    for (const [k, v] of Object.entries(msg.headers)) h.set(k, v)
    await this.js!.publish(topic, msg.body, { headers: h })
  }

  async close(): Promise<void> {
    this.closed = true
    this.fetching?.stop()
    await this.nc?.close()
  }
}
