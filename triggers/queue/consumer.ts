// The one seam between a queue trigger and its broker. A kind (redis-stream.ts, nats.ts) only moves
// messages: it pulls at most what it is asked for, acknowledges, hands a message back for a later
// delivery, keeps a message it is still working on from going elsewhere, and publishes. What a
// message means — the call, concurrency, retries, dead letters, reconnect backoff and logs — is the
// runner's (runner.ts), the same for every kind.
import type { QueueTriggerSpec } from '../../core/types.js'

export interface Delivery {
  /** The broker's id: a stream entry id, or a JetStream stream sequence. */
  readonly id: string
  readonly body: Buffer
  /** Headers the message carries (Redis fields other than `body`, NATS headers): untrusted. */
  readonly headers: Record<string, string>
  /** This delivery's number, counted by the broker: 1 the first time, 2 on the first redelivery... */
  readonly deliveries: number
  /** Done with it: the broker forgets it. Resolves once the broker has it (throws otherwise). */
  ack(): Promise<void>
  /** Not done: deliver it again, as a new counted delivery, after `delayMs`. */
  retry(delayMs: number): Promise<void>
  /** Still working on it: restart its lease so it is not delivered elsewhere. */
  extend(): Promise<void>
}

/** A message Kiln publishes (to a response or error topic). */
export interface Outgoing { body: Buffer; headers: Record<string, string> }

export interface QueueConsumer {
  /** Connects (once) and makes sure the group / stream / durable consumer exists; safe to call again after a failure. */
  open(): Promise<void>
  /** Asks for at most `max` messages and hands each to `deliver` as it arrives; returns within about a second. */
  pull(max: number, deliver: (d: Delivery) => void): Promise<void>
  /** Publishes durably: resolves once the broker has stored it. */
  publish(topic: string, msg: Outgoing): Promise<void>
  /** Stops pulling and disconnects; unacknowledged messages stay with the broker. */
  close(): Promise<void>
}

export interface ConsumerOptions {
  /** The trigger's ref (core/refs.ts): its Redis consumer group and NATS durable consumer are consumerGroupOf(ref). */
  ref: string
  spec: QueueTriggerSpec
  /** When the trigger was created: the first messages it reads are those published since. */
  createdAt: Date
  /** This platform process among those sharing a group (a Redis consumer name). */
  consumer: string
  /** How long a message may go without `extend()` before another process may take it. */
  leaseMs: number
  /** The client library saw the broker go (`false`) or come back (`true`). */
  onConnection(up: boolean, err?: unknown): void
}

export type ConsumerFactory = (o: ConsumerOptions) => Promise<QueueConsumer>
