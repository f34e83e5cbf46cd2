// Delivers an ended invocation's result to its `X-Callback-Url`: a POST with the function's answer as
// the body (its content type kept) and headers naming the invocation, its status and the function's
// HTTP status. A request the platform makes on a caller's behalf, so it goes only to hosts in
// callbackHosts (checked again here, and at connect time on the addresses DNS gave: a name that
// resolves to a loopback or metadata address is refused unless listed exactly). Retried with
// backoff on a network error or a non-2xx answer, up to CALLBACK_ATTEMPTS, then `failed`.
import { Agent } from 'undici'
import type { Logger } from 'pino'
import type { HostAllowlist } from '../../core/allowlist.js'
import { backoffDelay, type Backoff } from '../retry.js'
import type { Invocation, InvocationStore } from './store.js'

export const CALLBACK_ATTEMPTS = 5
const BACKOFF: Backoff = { baseMs: 1000, maxMs: 60_000 }
const TIMEOUT_MS = 10_000

export interface CallbackSenderOptions {
  store: InvocationStore
  allowlist: HostAllowlist
  logger: Logger
  /** callbacks sent at once by this process */
  concurrency?: number
}

/** The body and headers a callback carries. */
export function callbackRequest(inv: Invocation): { headers: Record<string, string>; body: Buffer } {
  const headers: Record<string, string> = {
    'x-kiln-invocation-id': inv.id,
    'x-kiln-function': inv.function,
    'x-kiln-status': inv.status,
    'x-kiln-attempts': String(inv.attempts),
  }
  if (inv.result) {
    headers['x-kiln-function-status'] = String(inv.result.status)
    const ct = inv.result.headers['content-type']
    if (ct !== undefined) headers['content-type'] = Array.isArray(ct) ? ct[0]! : ct
    return { headers, body: inv.result.body }
  }
  // Ended without an answer (cancelled): the error, as the catalogue writes it.
  headers['content-type'] = 'application/json; charset=utf-8'
  const e = inv.error ?? { code: 'KILN_ERR_INTERNAL', message: 'no result' }
  return { headers, body: Buffer.from(JSON.stringify({ error: e.code, message: e.message })) }
}

export class CallbackSender {
  private readonly agent: Agent
  private readonly inflight = new Set<string>()
  private readonly concurrency: number

  constructor(private readonly o: CallbackSenderOptions) {
    this.agent = new Agent({ connect: { lookup: o.allowlist.lookup as never }, headersTimeout: TIMEOUT_MS, bodyTimeout: TIMEOUT_MS, connections: 32 })
    this.concurrency = o.concurrency ?? 16
  }

  /** Sends the callbacks due now, at most `concurrency` at once (those still in flight count). */
  async pass(now = Date.now()): Promise<void> {
    const free = this.concurrency - this.inflight.size
    if (free <= 0) return
    const due = await this.o.store.claimCallbacks(free, now, now + TIMEOUT_MS * 3)
    for (const inv of due) {
      if (this.inflight.has(inv.id)) continue
      this.inflight.add(inv.id)
      void this.deliver(inv).finally(() => this.inflight.delete(inv.id))
    }
  }

  private async deliver(inv: Invocation): Promise<void> {
    const cb = inv.callback!
    const attempt = cb.attempts
    let error: string
    try {
      const url = this.o.allowlist.checkUrl(cb.url)
      const { headers, body } = callbackRequest(inv)
      const res = await this.agent.request({ origin: url.origin, path: `${url.pathname}${url.search}`, method: 'POST', headers, body })
      await res.body.dump()
      if (res.statusCode >= 200 && res.statusCode < 300) {
        await this.o.store.finishCallback(inv.id, { state: 'delivered', now: Date.now() })
        return
      }
      error = `the callback URL answered ${res.statusCode}`
    } catch (err) {
      const e = err as Error & { code?: string }
      error = e.code === 'KILN_ERR_HOST_NOT_ALLOWED' ? e.message : `${e.code ?? 'error'}: ${e.message}`
      if (e.code === 'KILN_ERR_HOST_NOT_ALLOWED') {
        this.o.logger.warn({ invocation: inv.id, url: cb.url, error }, 'callback refused: host not allowed')
        await this.o.store.finishCallback(inv.id, { state: 'failed', now: Date.now(), error })
        return
      }
    }
    if (attempt >= CALLBACK_ATTEMPTS) {
      this.o.logger.warn({ invocation: inv.id, url: cb.url, attempts: attempt, error }, 'callback not delivered: giving up')
      await this.o.store.finishCallback(inv.id, { state: 'failed', now: Date.now(), error })
    } else {
      await this.o.store.finishCallback(inv.id, { state: 'pending', due: Date.now() + backoffDelay(BACKOFF, attempt), error })
    }
  }

  async close(): Promise<void> {
    await this.agent.close()
  }
}
