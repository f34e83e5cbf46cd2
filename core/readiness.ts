// Readiness (`GET /readyz`): named checks, each saying what is not ready yet or nothing when it is.
// The platform registers its own (platform/readiness.ts); a part that the platform cannot serve
// without adds one line: `readiness.add('name', () => ok ? undefined : 'why not')`. A part whose
// outage must not take the process out of its load balancer (the state store: a Redis outage pauses
// async work, not the data plane) adds an advisory check instead (`advise`): shown in the report's
// `advisory`, never making it unready.
export type ReadinessCheck = () => string | undefined

export interface ReadinessReport {
  ready: boolean
  /** Each check: `ok`, or why it is not ready. */
  checks: Record<string, string>
  /** Each advisory check: `ok`, or what is degraded (readiness does not wait for these). */
  advisory: Record<string, string>
}

export class Readiness {
  private readonly checks = new Map<string, ReadinessCheck>()
  private readonly advisories = new Map<string, ReadinessCheck>()

  add(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check)
  }

  /** A check reported beside the others that does not decide readiness. */
  advise(name: string, check: ReadinessCheck): void {
    this.advisories.set(name, check)
  }

  report(): ReadinessReport {
    const checks: Record<string, string> = {}
    let ready = true
    for (const [name, check] of this.checks) {
      const why = run(check)
      checks[name] = why ?? 'ok'
      if (why !== undefined) ready = false
    }
    const advisory: Record<string, string> = {}
    for (const [name, check] of this.advisories) advisory[name] = run(check) ?? 'ok'
    return { ready, checks, advisory }
  }
}

function run(check: ReadinessCheck): string | undefined {
  try {
    return check()
  } catch (e) {
    return `check failed: ${(e as Error).message}`
  }
}
