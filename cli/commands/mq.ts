// `kiln mq ...`: queue triggers — each message on a Redis stream or a NATS JetStream subject calls a
// function of the trigger's own namespace; Fission's `mqtrigger` flags under their Kiln names
// (--response-topic for --resptopic, ...). `-n NS` says which namespace, `-A` lists across them.
import type { Command } from 'commander'
import { api, CliError, EXIT } from '../client.js'
import { printJson, printTable, since } from '../output.js'
import type { Globals } from '../globals.js'
import type { QueueTriggerResource } from '../../core/types.js'

interface AddFlags {
  kind: string; url: string; topic: string; function: string; responseTopic?: string; errorTopic?: string
  maxRetries?: string; concurrency?: string; contentType?: string
}

interface Status { connected?: boolean; inFlight: number; delivered: number; succeeded: number; failedAttempts: number; deadLettered: number; lastError?: string }
type TriggerView = QueueTriggerResource & { status?: Status }

function integer(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined
  if (!/^[0-9]+$/.test(v)) throw new CliError(`${flag}: "${v}" is not a whole number`, EXIT.USER)
  return Number(v)
}

/** ` in namespace NS`, outside `default`. */
const inNs = (ns: string | undefined) => (ns && ns !== 'default' ? ` in namespace ${ns}` : '')

function state(s: Status | undefined): string {
  if (!s) return '-'
  return s.connected === undefined ? 'connecting' : s.connected ? 'consuming' : 'broker down'
}

export function registerMq(program: Command, g: Globals): void {
  const mq = program.command('mq').description('queue triggers: messages on a Redis stream or NATS subject call a function')

  mq.command('add <name>')
    .description('call FUNCTION with each message on TOPIC')
    .requiredOption('--kind <kind>', 'redis-stream | nats')
    .requiredOption('--url <url>', 'the broker: redis://host:6379 or nats://host:4222')
    .requiredOption('--topic <topic>', 'the stream key (Redis) or subject (NATS) to read')
    .requiredOption('--function <name>', 'the function each message calls (of the trigger\'s namespace)')
    .option('--response-topic <topic>', "where the function's answers are published")
    .option('--error-topic <topic>', 'where a message goes after its last attempt failed, with the reason')
    .option('--max-retries <n>', 'attempts after the first (default 0)')
    .option('--concurrency <n>', 'messages in flight at once, per platform process (default 1)')
    .option('--content-type <type>', "the messages' content type when they carry none (default application/json)")
    .action(async (name: string, f: AddFlags) => {
      const spec = {
        kind: f.kind, url: f.url, topic: f.topic, function: f.function,
        ...(f.responseTopic !== undefined ? { responseTopic: f.responseTopic } : {}),
        ...(f.errorTopic !== undefined ? { errorTopic: f.errorTopic } : {}),
        ...(f.maxRetries !== undefined ? { maxRetries: integer('--max-retries', f.maxRetries) } : {}),
        ...(f.concurrency !== undefined ? { concurrency: integer('--concurrency', f.concurrency) } : {}),
        ...(f.contentType !== undefined ? { contentType: f.contentType } : {}),
      }
      const t = await api<TriggerView>(g.server(), 'POST', '/mqtriggers', { metadata: { name }, spec })
      if (g.output === 'json') return printJson(t)
      if (!g.quiet) process.stderr.write(`queue trigger ${t.metadata.name}${inNs(t.metadata.namespace)}: ${t.spec.kind} ${t.spec.topic} -> ${t.spec.function}\n`)
    })

  mq.command('list').description('list queue triggers').action(async () => {
    const conn = g.server()
    const list = await api<TriggerView[]>(conn, 'GET', '/mqtriggers')
    if (g.output === 'json') return printJson(list)
    const all = conn.all === true
    printTable([...(all ? ['NAMESPACE'] : []), 'NAME', 'KIND', 'TOPIC', 'FUNCTION', 'RESPONSE', 'ERRORS', 'STATE', 'IN-FLIGHT', 'AGE'], list.map((t) => [
      ...(all ? [t.metadata.namespace ?? 'default'] : []), t.metadata.name, t.spec.kind, t.spec.topic, t.spec.function, t.spec.responseTopic, t.spec.errorTopic, state(t.status), t.status?.inFlight, since(t.metadata.createdAt),
    ]))
  })

  mq.command('get <name>').description('show a queue trigger and what its consumer is doing').action(async (name: string) => {
    const t = await api<TriggerView>(g.server(), 'GET', `/mqtriggers/${encodeURIComponent(name)}`)
    if (g.output === 'json') return printJson(t)
    const s = t.spec
    const st = t.status
    const lines = [
      ['name', t.metadata.name], ['namespace', t.metadata.namespace ?? 'default'], ['kind', s.kind], ['url', s.url], ['topic', s.topic], ['function', s.function],
      ['response topic', s.responseTopic], ['error topic', s.errorTopic], ['max retries', s.maxRetries ?? 0],
      ['concurrency', s.concurrency ?? 1], ['content type', s.contentType ?? 'application/json'],
      ['state', state(st)], ['in flight', st?.inFlight], ['delivered', st?.delivered], ['succeeded', st?.succeeded],
      ['failed attempts', st?.failedAttempts], ['dead letters', st?.deadLettered], ['last error', st?.lastError],
      ['created', t.metadata.createdAt],
    ]
    for (const [k, v] of lines) process.stdout.write(`${String(k).padEnd(17)}${v ?? '-'}\n`)
  })

  mq.command('delete <name>').description('delete a queue trigger (its consumer group stays with the broker)').action(async (name: string) => {
    const d = await api<{ deleted: string; namespace?: string }>(g.server(), 'DELETE', `/mqtriggers/${encodeURIComponent(name)}`)
    if (!g.quiet) process.stderr.write(`deleted queue trigger ${name}${inNs(d?.namespace)}\n`)
  })
}
