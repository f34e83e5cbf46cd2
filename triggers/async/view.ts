// Invocations as the control API shows them: the function by name with its namespace (as resources
// are named), times in ISO 8601, bodies as text when they are UTF-8 (else base64, with
// `encoding: "base64"`), the request without its body.
import { parseRef } from '../../core/refs.js'
import type { Invocation, InvocationSummary } from './store.js'

const utf8 = new TextDecoder('utf-8', { fatal: true })
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString())

function bodyView(b: Buffer): { body: string; encoding?: 'base64' } {
  try {
    return { body: utf8.decode(b) }
  } catch {
    return { body: b.toString('base64'), encoding: 'base64' }
  }
}

/** `{function: name, namespace}` of a function's ref. */
function fnOf(ref: string): { function: string; namespace: string } {
  const { namespace, name } = parseRef(ref)
  return { function: name, namespace }
}

export function summaryView(s: InvocationSummary): Record<string, unknown> {
  return {
    id: s.id, ...fnOf(s.function), status: s.status, attempts: s.attempts, source: s.source,
    createdAt: iso(s.createdAt), ...(s.finishedAt !== undefined ? { finishedAt: iso(s.finishedAt) } : {}),
  }
}

export function invocationView(inv: Invocation): Record<string, unknown> {
  const v: Record<string, unknown> = {
    id: inv.id, ...fnOf(inv.function), status: inv.status, attempts: inv.attempts, source: inv.source, createdAt: iso(inv.createdAt),
  }
  if (inv.startedAt !== undefined) v.startedAt = iso(inv.startedAt)
  if (inv.finishedAt !== undefined) v.finishedAt = iso(inv.finishedAt)
  if (inv.status === 'queued' && inv.attempts > 0) v.nextAttemptAt = iso(inv.due)
  v.request = { method: inv.request.method, path: inv.request.path, headers: inv.request.headers, bodyBytes: inv.request.body.length }
  if (inv.result) {
    v.result = { status: inv.result.status, headers: inv.result.headers, ...bodyView(inv.result.body), ...(inv.result.truncated ? { truncated: true } : {}) }
  }
  if (inv.error) v.error = inv.error
  if (inv.callback) {
    const c = inv.callback
    v.callback = { url: c.url, state: c.state ?? 'waiting', attempts: c.attempts, ...(c.error ? { error: c.error } : {}), ...(c.deliveredAt !== undefined ? { deliveredAt: iso(c.deliveredAt) } : {}) }
  }
  return v
}
