// Accepting async work: the checks every way in shares (the HTTP entry, cron runs) — the function
// exists, the state store is up, a callback URL is allowed, an idempotency key is well formed — then
// one durable write. Resolves only once the invocation is stored.
import { randomUUID } from 'node:crypto'
import type { HostAllowlist } from '../../core/allowlist.js'
import { KilnError } from '../../core/errors.js'
import type { StateHealth } from '../../core/state/health.js'
import type { ResourceStore } from '../../core/store/resource-store.js'
import type { FunctionResource } from '../../core/types.js'
import { ASYNC_DEFAULTS } from './policy.js'
import type { InvocationStatus, InvocationStore, StoredRequest } from './store.js'

export interface AcceptRequest {
  /** the function's ref */
  function: string
  /** `http`, `cron/NAME` */
  source: string
  request: StoredRequest
  callbackUrl?: string
  idempotencyKey?: string
}

export interface Accepted {
  id: string
  function: string
  /** false: an earlier invocation under the same idempotency key */
  created: boolean
  status: InvocationStatus
}

export interface AcceptorOptions {
  store: InvocationStore
  functions: ResourceStore<FunctionResource>
  health: StateHealth
  allowlist: HostAllowlist
  /** called after a new invocation is stored (wakes the dispatcher) */
  onAccepted(fn: string): void
  /** how long a write may wait for a store that went away mid-request before the caller gets 503 */
  writeTimeoutMs?: number
}

const KEY = /^[\x21-\x7e]{1,255}$/

export const newInvocationId = (): string => `inv-${randomUUID()}`

export class Acceptor {
  constructor(private readonly o: AcceptorOptions) {}

  /** The checks that need no body: done before an HTTP body is read. */
  check(r: Omit<AcceptRequest, 'request' | 'source'>): void {
    if (!this.o.functions.get(r.function)) throw new KilnError('KILN_ERR_FUNCTION_NOT_FOUND', `function "${r.function}" not found`)
    if (!this.o.health.up) throw unavailable()
    if (r.idempotencyKey !== undefined && !KEY.test(r.idempotencyKey)) {
      throw new KilnError('KILN_ERR_BAD_REQUEST', 'Idempotency-Key: 1 to 255 visible ASCII characters')
    }
    if (r.callbackUrl !== undefined) this.o.allowlist.checkUrl(r.callbackUrl)
  }

  async accept(r: AcceptRequest): Promise<Accepted> {
    this.check(r)
    const id = newInvocationId()
    const write = this.o.store.accept(
      { id, function: r.function, source: r.source, request: r.request, now: Date.now(), ...(r.callbackUrl !== undefined ? { callbackUrl: r.callbackUrl } : {}) },
      r.idempotencyKey !== undefined ? { key: r.idempotencyKey, ttlMs: ASYNC_DEFAULTS.idempotencyTtlMs } : undefined,
    )
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(unavailable()), this.o.writeTimeoutMs ?? 10_000)
    })
    let stored: { id: string; created: boolean }
    try {
      stored = await Promise.race([write, timeout])
    } finally {
      clearTimeout(timer)
    }
    if (stored.created) {
      this.o.onAccepted(r.function)
      return { id: stored.id, function: r.function, created: true, status: 'queued' }
    }
    const prior = await this.o.store.get(stored.id)
    return { id: stored.id, function: r.function, created: false, status: prior?.status ?? 'queued' }
  }
}

function unavailable(): KilnError {
  return new KilnError('KILN_ERR_STATE_UNAVAILABLE', 'the state store is unreachable: async work cannot be stored now', { retryAfter: 5 })
}
