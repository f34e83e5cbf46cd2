// What a function's traffic record means, as pure functions: a split checked, each version's share of
// the traffic (what the warm strategy keeps instances for), the versions a record uses (which retention
// never collects), and which spec fields a new version changed.
import { KilnError } from '../errors.js'
import { FunctionSpec, Split, type FunctionTrafficSpec } from '../types.js'
import { validateValue } from '../validate.js'

/** A split as given by a caller: valid, weights summing to 100, each version once and existing. */
export function checkSplit(value: unknown, exists: (version: number) => boolean, what = 'split'): Split {
  const s = validateValue<Split>(Split, value, what)
  let total = 0
  const seen = new Set<number>()
  for (const t of s.targets) {
    if (seen.has(t.version)) throw new KilnError('KILN_ERR_VALIDATION', `${what}: version ${t.version} is named twice`)
    seen.add(t.version)
    total += t.weight
  }
  if (total !== 100) throw new KilnError('KILN_ERR_VALIDATION', `${what}: the weights add up to ${total}, not 100`)
  if (s.stickyHeader !== undefined && s.stickyCookie !== undefined) throw new KilnError('KILN_ERR_VALIDATION', `${what}: sticky by a header or by a cookie, not both`)
  for (const t of s.targets) {
    if (!exists(t.version)) throw new KilnError('KILN_ERR_VERSION_NOT_FOUND', `${what}: there is no version ${t.version}`)
  }
  return s
}

/** One target at 100%. */
export function only(version: number): Split {
  return { targets: [{ version, weight: 100 }] }
}

/** The version with the most weight in a split (the first of equals): what "the version serving" means. */
export function primaryOf(s: Split): number {
  let best = s.targets[0]
  for (const t of s.targets) if (t.weight > best.weight) best = t
  return best.version
}

/**
 * Each version's share of the function's traffic, 0..1: its largest weight in the main split or any
 * alias's (an alias serves requests too). Versions a split lists at weight 0 are there with 0.
 */
export function sharesOf(t: FunctionTrafficSpec): Map<number, number> {
  const out = new Map<number, number>()
  const add = (s: Split) => {
    for (const x of s.targets) out.set(x.version, Math.max(out.get(x.version) ?? 0, x.weight / 100))
  }
  add(t.traffic)
  for (const a of Object.values(t.aliases ?? {})) add(a)
  return out
}

/** The versions a traffic record uses: its splits' targets (any weight) and a canary's two versions. */
export function referencedVersions(t: FunctionTrafficSpec | undefined): Set<number> {
  const out = new Set<number>()
  if (!t) return out
  for (const x of t.traffic.targets) out.add(x.version)
  for (const a of Object.values(t.aliases ?? {})) for (const x of a.targets) out.add(x.version)
  if (t.canary?.state === 'running') { out.add(t.canary.from); out.add(t.canary.to) }
  return out
}

const SPEC_FIELDS = Object.keys(FunctionSpec.properties)

/** The spec fields whose values differ (in the schema's order); none when there is no `prev` (a first version). */
export function changedFields(prev: Record<string, unknown> | undefined, next: Record<string, unknown>): string[] {
  if (!prev) return []
  const keys = new Set([...SPEC_FIELDS, ...Object.keys(prev), ...Object.keys(next)])
  return [...keys].filter((k) => !sameJson(prev[k], next[k]))
}

/** Equal as JSON, whatever the key order (specs come back from stores and clients in any order). */
export function sameJson(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b)
}

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (x && typeof x === 'object' && !Array.isArray(x)
    ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    : x)) ?? 'undefined'
}
