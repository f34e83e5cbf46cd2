// One function as the executor serves it: a FunctionState per live version (its own instances,
// specialized with that version's spec) and the routes a request takes to them — the main split
// (`/fn/NAME`) and each alias's (`/fn/NAME@ALIAS`). Routes are built when the traffic changes, never
// per request: a pick is a step through a precomputed table (core/releases/split-table.ts), or a hash
// of the caller's sticky header or cookie (router/version-pick.ts).
import { refOfMeta } from '../core/refs.js'
import { SplitTable } from '../core/releases/split-table.js'
import type { FunctionResource, FunctionTrafficSpec, Split } from '../core/types.js'
import type { FunctionState, Isolation } from './function-state.js'

export interface Route {
  readonly table: SplitTable
  /** The state of each of the table's targets, by index. */
  readonly states: readonly FunctionState[]
  /** Lower-cased: the request header whose value keeps a caller on one version. */
  readonly stickyHeader: string | undefined
  /** The cookie whose value keeps a caller on one version. */
  readonly stickyCookie: string | undefined
}

const NO_ALIASES: ReadonlyMap<string, Route> = new Map()

export class FunctionEntry {
  /** The function as stored: its name, metadata and access (`private` is the function's, never a version's). */
  fn: FunctionResource
  /** Live versions by number: those a split or alias serves, those draining, those `@N` opened. */
  readonly states = new Map<number, FunctionState>()
  /** The main split as the data plane uses it; undefined until the function's traffic is applied. */
  route: Route | undefined
  aliases: ReadonlyMap<string, Route> = NO_ALIASES
  /** The traffic record last read from the store (what the apply loop works towards). */
  desired: FunctionTrafficSpec | undefined
  /** The traffic record the routes were built from. */
  appliedTraffic: FunctionTrafficSpec | undefined
  /** Set while the function is isolated: every version's instances go to isolated nodes. */
  isolation: Isolation | undefined
  /** Settles once the latest traffic record is applied (new versions warm, routes switched). */
  applied: Promise<void> = Promise.resolve()
  /** The traffic changed again while it was being applied: apply once more. */
  dirty = false
  applying = false
  deleted = false
  /** whenApplied callers waiting for an apply that catches up with the function's newest deploy. */
  readonly waiters: (() => void)[] = []

  constructor(fn: FunctionResource) {
    this.fn = fn
  }

  get ref(): string { return refOfMeta(this.fn.metadata) }

  /** The version serving most of the main split (else the newest live one): what `fn get` shows first. */
  primary(): FunctionState | undefined {
    const targets = this.appliedTraffic?.traffic.targets
    if (targets !== undefined) {
      let best: { version: number; weight: number } | undefined
      for (const t of targets) if (best === undefined || t.weight > best.weight) best = t
      const fs = best && this.states.get(best.version)
      if (fs) return fs
    }
    let newest: FunctionState | undefined
    for (const fs of this.states.values()) if (newest === undefined || fs.fnVersion > newest.fnVersion) newest = fs
    return newest
  }

  /** Its weight (percent) in the applied main split. */
  weightOf(version: number): number {
    return this.appliedTraffic?.traffic.targets.find((t) => t.version === version)?.weight ?? 0
  }
}

/**
 * A split as a route over the states it names. Targets at weight 0, or whose version has no state here
 * (not in this process's view yet), are left out and the rest keep their proportions; undefined when
 * nothing is left to serve.
 */
export function buildRoute(split: Split, stateOf: (version: number) => FunctionState | undefined): Route | undefined {
  const states: FunctionState[] = []
  const weights: number[] = []
  for (const t of split.targets) {
    const fs = t.weight > 0 ? stateOf(t.version) : undefined
    if (fs === undefined) continue
    states.push(fs)
    weights.push(t.weight)
  }
  if (states.length === 0) return undefined
  return {
    table: new SplitTable(weights),
    states,
    stickyHeader: split.stickyHeader?.toLowerCase(),
    stickyCookie: split.stickyCookie,
  }
}
