// Whether the state store answers. SQLite is a file in this process: always up. Redis is a server:
// its connection's events drive this (state/redis.ts). While it is down, dispatch pauses and new async
// work is refused with 503; nothing accepted is failed for it. The change is logged (warn when it
// goes, info when it comes back), shown in /healthz and /readyz, and kept in `kiln_state_store_up`.
import { EventEmitter } from 'node:events'
import type { Logger } from 'pino'

export type StateKind = 'sqlite' | 'redis'

export interface StateHealthView {
  store: StateKind
  up: boolean
  /** ISO 8601: since when it is in its current state */
  since: string
  /** while down: the last connection error */
  error?: string
}

export class StateHealth extends EventEmitter<{ change: [boolean] }> {
  private isUp = true
  private sinceMs = Date.now()
  private lastError: string | undefined

  constructor(readonly store: StateKind, private readonly logger?: Logger) {
    super()
    this.setMaxListeners(0)
  }

  get up(): boolean { return this.isUp }

  /** Records the store's state; logs and emits only on a change. */
  set(up: boolean, error?: string): void {
    if (!up && error !== undefined) this.lastError = error
    if (up === this.isUp) return
    const downFor = Date.now() - this.sinceMs
    this.isUp = up
    this.sinceMs = Date.now()
    if (up) {
      this.logger?.info({ store: this.store, downMs: downFor }, 'state store is back: dispatch resumes')
      this.lastError = undefined
    } else {
      this.logger?.warn({ store: this.store, error: this.lastError }, 'state store unreachable: async dispatch, cron and workflow progress pause; accepted work is kept')
    }
    this.emit('change', up)
  }

  /** Settles once the store is up (at once when it is). */
  whenUp(): Promise<void> {
    if (this.isUp) return Promise.resolve()
    return new Promise((resolve) => {
      const on = (up: boolean) => {
        if (!up) return
        this.off('change', on)
        resolve()
      }
      this.on('change', on)
    })
  }

  view(): StateHealthView {
    return { store: this.store, up: this.isUp, since: new Date(this.sinceMs).toISOString(), ...(!this.isUp && this.lastError ? { error: this.lastError } : {}) }
  }
}
