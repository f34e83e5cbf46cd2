// Outlier ejection, as Envoy does it: an instance whose answers keep failing is taken out of rotation
// and replaced. After `consecutive5xx` 5xx answers in a row the instance's runtime is asked
// (`GET /healthz`, docs/runtime-contract.md); it is ejected when that check fails (an error status,
// no answer within a second: out of file descriptors, lost its code, wedged), or when another instance
// of the same version answered well meanwhile (the failures are this instance's, not the function's).
// A function whose every instance fails alike keeps its instances: replacing them would only add
// cold starts to its errors. Counting is two field writes per request; the check runs off the request path.
import type { InstanceRecord } from '../poolmgr/instance.js'
import type { FunctionState } from './function-state.js'

export interface EjectionSettings {
  /** 5xx answers in a row that make an instance a suspect (0: never eject). */
  consecutive5xx: number
  /** How long the health check may take before it counts as failed. */
  probeTimeoutMs: number
}

export const DEFAULT_EJECTION: EjectionSettings = { consecutive5xx: 5, probeTimeoutMs: 1000 }

export class Outliers {
  private readonly checking = new WeakSet<InstanceRecord>()
  private readonly s: EjectionSettings

  constructor(settings: Partial<EjectionSettings> | undefined, private readonly eject: (rec: InstanceRecord, reason: string) => void) {
    this.s = { ...DEFAULT_EJECTION, ...settings }
  }

  /** An answer the instance gave (`status` 0: not known, counted as good). */
  answered(rec: InstanceRecord, status: number, now: number, fs: FunctionState | undefined): void {
    if (status < 500) {
      rec.failures = 0
      rec.lastOkAt = now
      return
    }
    if (rec.failures++ === 0) rec.failingSince = now
    const n = this.s.consecutive5xx
    if (n > 0 && rec.failures >= n && rec.failures % n === 0 && fs !== undefined && !this.checking.has(rec)) void this.check(rec, fs)
  }

  private async check(rec: InstanceRecord, fs: FunctionState): Promise<void> {
    this.checking.add(rec)
    try {
      const health = await this.health(rec)
      if (rec.state !== 'ready') return
      if (health !== undefined) return this.eject(rec, `${rec.failures} 5xx answers in a row, then its health check ${health}`)
      const since = rec.failingSince
      if (fs.instances.some((r) => r !== rec && r.state === 'ready' && r.lastOkAt >= since)) {
        return this.eject(rec, `${rec.failures} 5xx answers in a row while other instances of the function answered well`)
      }
    } finally {
      this.checking.delete(rec)
    }
  }

  /** Why the runtime's health check failed, or undefined when it passed (a runtime without one passes). */
  private async health(rec: InstanceRecord): Promise<string | undefined> {
    try {
      const r = await rec.client.request({ path: '/healthz', method: 'GET', headersTimeout: this.s.probeTimeoutMs, bodyTimeout: this.s.probeTimeoutMs })
      await r.body.dump()
      return r.statusCode >= 500 ? `answered ${r.statusCode}` : undefined
    } catch (e) {
      return `failed: ${(e as Error).message}`
    }
  }
}
