// GET /v1/watch: what the operator console shows, pushed as server-sent events while it is open.
// `?topics=` picks what to send (functions, series, events, pools, nodes, executions, invocations);
// each topic goes out whole when it changed (compared with what this stream sent last), checked once
// a second (topics kept in the state store every other second), so nothing runs while no console is
// open and a client that falls behind gets the latest state rather than a backlog. Only `events`
// goes out as the new items since the last ones sent.
//
// The route is a list of functions (controller/authz.ts): what a stream carries is what the token may
// read — the objects of the namespaces the request acts in (`?namespace=NS`, or `*` for every
// namespace of the token), each topic only if the token's role reads that resource (pools and nodes:
// admins). The first event, `hello`, names the topics granted and those refused.
import type { FastifyInstance } from 'fastify'
import { grants, type ApiResource } from '../core/auth/roles.js'
import { KilnError } from '../core/errors.js'
import { DEFAULT_NAMESPACE, namespaceOf, refOfMeta } from '../core/refs.js'
import type { Access } from './authz.js'
import type { ControlContext } from './context.js'
import { eventStreams, type EventStream } from './event-stream.js'
import { functionView } from './functions.js'

const TICK_MS = 1000
/** The newest events a stream starts with. */
const FIRST_EVENTS = 200
const RECENT = 100

type Topic = 'functions' | 'series' | 'events' | 'pools' | 'nodes' | 'executions' | 'invocations'

/** Each topic, the resource a token must read for it, and whether it is read from the state store (every other tick). */
const TOPICS: Record<Topic, { resource: ApiResource; stored?: true }> = {
  functions: { resource: 'functions' },
  series: { resource: 'functions' },
  events: { resource: 'events' },
  pools: { resource: 'pools' },
  nodes: { resource: 'nodes' },
  executions: { resource: 'executions', stored: true },
  invocations: { resource: 'invocations', stored: true },
}

function parseTopics(q: string | undefined): Topic[] {
  if (q === undefined || q === '') return ['functions', 'series', 'events']
  const asked = [...new Set(q.split(','))]
  const unknown = asked.filter((t) => !(t in TOPICS))
  if (unknown.length > 0) throw new KilnError('KILN_ERR_BAD_REQUEST', `topics: unknown ${unknown.join(', ')} (known: ${Object.keys(TOPICS).join(', ')})`)
  return asked as Topic[]
}

export async function watchRoutes(app: FastifyInstance, c: ControlContext): Promise<void> {
  const stream = eventStreams(app)

  // No HEAD: an answer without a body has no stream to keep open.
  app.get<{ Querystring: { topics?: string } }>('/watch', { exposeHeadRoute: false }, async (req, reply) => {
    const asked = parseTopics(req.query.topics)
    const { role } = req.kiln.identity
    const topics = asked.filter((t) => grants(role, TOPICS[t].resource, 'read'))
    const out = stream(req, reply)
    out.send('hello', { topics, refused: asked.filter((t) => !topics.includes(t)), namespace: req.kiln.all ? '*' : req.kiln.namespace })
    watch(out, c, req.kiln, topics)
    return reply
  })
}

/** Sends each topic when it changed, once a second, until the stream ends. */
function watch(out: EventStream, c: ControlContext, access: Access, topics: Topic[]): void {
  const last = new Map<Topic, string>()
  let eventSeq = -1
  let ticks = 0
  let busy = false
  const shows = (ns: string | undefined) => access.shows(ns ?? DEFAULT_NAMESPACE)
  const admin = access.identity.role === 'admin' && access.identity.namespaces.includes('*')

  const visibleFunctions = () => c.functions.list().filter((f) => shows(f.metadata.namespace))

  /** The topic's state now, or undefined when there is nothing to send. */
  async function read(t: Topic): Promise<unknown> {
    switch (t) {
      case 'functions': return visibleFunctions().map((f) => functionView(c, f))
      case 'series': return Object.fromEntries(visibleFunctions().map((f) => { const ref = refOfMeta(f.metadata); return [ref, c.series.of(ref)] }))
      case 'pools': return c.pools.list()
      case 'nodes': return c.nodes.list()
      case 'events': {
        // As GET /v1/events: events about a function are its namespace's; the others are the admins'.
        const all = c.events.list({ since: eventSeq < 0 ? undefined : eventSeq })
        if (all.length > 0) eventSeq = all[all.length - 1].seq
        else if (eventSeq < 0) eventSeq = 0
        const mine = all.filter((e) => (e.function === undefined ? admin : shows(namespaceOf(e.function))))
        return mine.length > 0 ? mine.slice(-FIRST_EVENTS) : undefined
      }
      case 'executions': {
        const all = await c.executions.list({ limit: 1000 })
        return all.filter((e) => shows(namespaceOf(e.workflow))).slice(0, RECENT)
      }
      case 'invocations': {
        // As GET /v1/invocations: the request's namespace, or every namespace of the token.
        const mine = access.identity.namespaces
        const where = access.all ? (mine.includes('*') ? {} : { namespaces: mine }) : { namespaces: [access.namespace] }
        const [recent, dead] = await Promise.all([c.invocations.list({ ...where, limit: RECENT }), c.invocations.list({ ...where, status: 'dead', limit: RECENT })])
        return { recent, dead }
      }
    }
  }

  async function tick(): Promise<void> {
    if (busy || out.closed) return
    busy = true
    const stored = ticks++ % 2 === 0
    try {
      for (const t of topics) {
        if (TOPICS[t].stored && !stored) continue
        const seqBefore = eventSeq
        const data = await read(t)
        if (data === undefined || out.closed) continue
        if (t === 'events') {
          // Sent as new items: a client not reading gets them again next time.
          if (!out.send(t, data)) eventSeq = seqBefore
          continue
        }
        const json = JSON.stringify(data)
        if (last.get(t) === json) continue
        if (out.sendJson(t, json)) last.set(t, json)
      }
    } catch (err) {
      // A store that is away (Redis): say so on the stream and try again next tick.
      out.send('problem', { error: (err as KilnError).code ?? 'KILN_ERR_INTERNAL', message: (err as Error).message })
    } finally {
      busy = false
    }
  }

  const timer = setInterval(() => void tick(), TICK_MS)
  out.onClose(() => clearInterval(timer))
  void tick()
}
