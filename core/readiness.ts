// Readiness (`GET /readyz`): named checks, each saying what is not ready yet or nothing when it is.
// The platform registers its own (platform/readiness.ts); a part that the platform cannot serve
// without (a state store, say) adds one line: `readiness.add('state-store', () => up ? undefined : 'Redis is unreachable')`.
export type ReadinessCheck = () => string | undefined

export interface ReadinessReport {
  ready: boolean
  /** Each check: `ok`, or why it is not ready. */
  checks: Record<string, string>
}

export class Readiness {
  private readonly checks = new Map<string, ReadinessCheck>()

  add(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check)
  }

  report(): ReadinessReport {
    const checks: Record<string, string> = {}
    let ready = true
    for (const [name, check] of this.checks) {
      let why: string | undefined
      try {
        why = check()
      } catch (e) {
        why = `check failed: ${(e as Error).message}`
      }
      checks[name] = why ?? 'ok'
      if (why !== undefined) ready = false
    }
    return { ready, checks }
  }
}
