// What a QueueTrigger spec must satisfy beyond its schema (types.ts): the broker URL's scheme for its
// kind, NATS subject syntax, and output topics the trigger would not read back. Also how its URL is
// shown: a password in it is never returned by the API; and the name its consumers go by at the broker.
import { KilnError } from './errors.js'
import { brokerName } from './refs.js'
import { QUEUE_TRIGGER_DEFAULTS, type QueueTriggerSpec } from './types.js'

/** What a process's consumer of a queue trigger is doing (the API's `status`, `kiln mq get`). */
export interface QueueTriggerStatus {
  /** Whether the broker answers (undefined until the first try). */
  connected: boolean | undefined
  inFlight: number
  delivered: number
  succeeded: number
  failedAttempts: number
  deadLettered: number
  lastError?: string
}

const SCHEMES: Record<QueueTriggerSpec['kind'], string[]> = {
  'redis-stream': ['redis:', 'rediss:'],
  nats: ['nats:', 'tls:'],
}

function bad(field: string, why: string): KilnError {
  return new KilnError('KILN_ERR_VALIDATION', `spec.${field}: ${why}`)
}

/** The broker URLs of a spec (NATS takes a comma-separated list of cluster members). */
export function brokerUrls(spec: Pick<QueueTriggerSpec, 'kind' | 'url'>): URL[] {
  const parts = spec.kind === 'nats' ? spec.url.split(',').map((s) => s.trim()) : [spec.url]
  return parts.map((p) => {
    let u: URL
    try { u = new URL(p) } catch { throw bad('url', `"${redactUrl(p)}" is not a URL (e.g. ${SCHEMES[spec.kind][0]}//127.0.0.1:${spec.kind === 'nats' ? 4222 : 6379})`) }
    if (!SCHEMES[spec.kind].includes(u.protocol)) throw bad('url', `a ${spec.kind} trigger needs a ${SCHEMES[spec.kind].map((s) => s + '//').join(' or ')} URL, not ${u.protocol}//`)
    if (!u.hostname) throw bad('url', 'names no host')
    return u
  })
}

/** NATS subject tokens: non-empty; `*` a whole token; `>` a whole last token (wildcards only where allowed). */
function checkSubject(field: string, subject: string, wildcards: boolean): void {
  const tokens = subject.split('.')
  tokens.forEach((t, i) => {
    if (t === '') throw bad(field, `"${subject}" has an empty token (NATS subjects are tokens separated by single dots)`)
    const wild = t === '*' || (t === '>' && i === tokens.length - 1)
    if ((t.includes('*') || t.includes('>')) && !wild) throw bad(field, `"${subject}": * and > are whole tokens, and > only the last`)
    if (wild && !wildcards) throw bad(field, `"${subject}": a topic Kiln publishes to cannot hold wildcards`)
  })
}

/** Whether a NATS subject pattern (with * and >) matches a literal subject. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.')
  const s = subject.split('.')
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i
    if (i >= s.length || (p[i] !== '*' && p[i] !== s[i])) return false
  }
  return p.length === s.length
}

/** Throws KILN_ERR_VALIDATION naming the field when the spec cannot work. */
export function checkQueueTrigger(spec: QueueTriggerSpec): void {
  brokerUrls(spec)
  if (spec.kind === 'nats') {
    checkSubject('topic', spec.topic, true)
    if (spec.responseTopic) checkSubject('responseTopic', spec.responseTopic, false)
    if (spec.errorTopic) checkSubject('errorTopic', spec.errorTopic, false)
  }
  // A trigger reading its own answers would call its function forever (Fission refuses it too).
  for (const field of ['responseTopic', 'errorTopic'] as const) {
    const out = spec[field]
    if (out === undefined) continue
    if (out === spec.topic || (spec.kind === 'nats' && subjectMatches(spec.topic, out))) {
      throw bad(field, `"${out}" is read by this trigger's topic "${spec.topic}"; give another`)
    }
  }
}

export function withQueueDefaults(spec: QueueTriggerSpec): Required<Omit<QueueTriggerSpec, 'responseTopic' | 'errorTopic'>> & QueueTriggerSpec {
  return { ...QUEUE_TRIGGER_DEFAULTS, ...spec }
}

/** The URL with its secrets replaced by `***`: a password (the user stays), or a bare token (NATS). */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^/@]*)@/g, (_m, info: string) => {
    const colon = info.indexOf(':')
    return `//${colon >= 0 ? info.slice(0, colon + 1) : ''}***@`
  })
}

/**
 * The trigger's consumer group (Redis) and durable consumer (NATS), by its ref: `kiln-NAME` in
 * `default`, `kiln-NS_NAME` elsewhere, so two namespaces' triggers of one name on one topic each
 * get every message, and a trigger re-added under its name resumes where it stopped.
 */
export function consumerGroupOf(ref: string): string {
  return `kiln-${brokerName(ref)}`
}
