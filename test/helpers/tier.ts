// Tests that need something this machine may not have (a Kubernetes control plane, writable cgroups,
// Python) belong to a tier. A tier that cannot run is skipped with its reason, which the summary
// reporter (test/reporters/summary.ts) groups at the end of the run; a tier named in
// KILN_REQUIRE_TIERS (.ci/run sets it for what the machine can run) fails the run instead, so CI
// never goes green with a tier that should have run silently missing.
import type { TestOptions } from 'vitest'

declare module 'vitest' {
  interface TaskMeta {
    /** Why the test was skipped, for the summary reporter. */
    skipReason?: string
  }
}

export type Tier = 'k8s' | 'cgroups' | 'python' | 'sandbox' | 'browser'

/** The tiers this run must not skip (KILN_REQUIRE_TIERS: a comma-separated list, or `all`). */
export function requiredTiers(env: NodeJS.ProcessEnv = process.env): Set<string> {
  return new Set((env.KILN_REQUIRE_TIERS ?? '').split(',').map((s) => s.trim()).filter(Boolean))
}

export class RequiredTierError extends Error {}

/**
 * Options for `describe`/`it` of a tier: `{}` (run) when nothing is missing; a skip carrying the reason
 * otherwise; and when the tier is required, it throws while the file is collected, failing it.
 */
export function tier(name: Tier, missing: string | undefined | false, env: NodeJS.ProcessEnv = process.env): TestOptions {
  if (!missing) return {}
  const required = requiredTiers(env)
  if (required.has(name) || required.has('all')) {
    throw new RequiredTierError(`the ${name} tier is required here (KILN_REQUIRE_TIERS=${env.KILN_REQUIRE_TIERS}) but cannot run: ${missing}`)
  }
  return { skip: true, meta: { skipReason: `${name}: ${missing}` } }
}

/** Options for a case that does not apply (e.g. a runtime without that feature): skipped, saying why. */
export function notApplicable(why: string): TestOptions {
  return { skip: true, meta: { skipReason: `not applicable: ${why}` } }
}

/** Options for a test that needs one program no tier covers: skipped, saying what is missing. */
export function needs(missing: string | undefined): TestOptions {
  return missing ? { skip: true, meta: { skipReason: missing } } : {}
}
