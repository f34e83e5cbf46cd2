// Every kind of broker a queue trigger can read, one registration line each. A kind's client library
// loads only when a trigger of that kind exists.
import type { QueueKind } from '../../core/types.js'
import type { ConsumerFactory } from './consumer.js'

export const KINDS: Record<QueueKind, ConsumerFactory> = {
  'redis-stream': async (o) => new (await import('./redis-stream.js')).RedisStreamConsumer(o),
  nats: async (o) => new (await import('./nats.js')).NatsConsumer(o),
}
