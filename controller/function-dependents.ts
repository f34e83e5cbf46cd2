// What refers to a function, so deleting it cannot silently break them: routes and triggers of every
// kind (a resource of a trigger kind whose `spec.function` names it: HTTP routes, and cron and queue
// triggers once their stores join `ControlContext.namespaced`), and the workflows that call it. What the
// function owns (its versions, its traffic) is not a dependent: it goes with the function. Delete
// refuses while any remain, naming them; `?cascade=1` deletes them first (a workflow with what leads to
// it: its routes, and the workflows that start it).
import { KilnError } from '../core/errors.js'
import { DEFAULT_NAMESPACE, nameOf, namespaceOf, refOfMeta } from '../core/refs.js'
import { describeRef } from '../core/store/resource-store.js'
import type { Resource } from '../core/types.js'
import type { ControlContext } from './context.js'

export interface Dependent { kind: string; ref: string }

/** The kinds that call a function (or a workflow) named in their `spec`. */
const TRIGGER_KINDS = new Set(['HTTPTrigger', 'CronTrigger', 'QueueTrigger'])

/** What points at `ref` (a function or, for the cascade, a workflow), never the thing itself. */
function pointingAt(c: ControlContext, target: Dependent): Dependent[] {
  const ns = namespaceOf(target.ref)
  const name = nameOf(target.ref)
  const field = target.kind === 'Workflow' ? 'workflow' : 'function'
  const out: Dependent[] = []
  for (const { kind, store } of c.namespaced) {
    if (!TRIGGER_KINDS.has(kind)) continue
    for (const r of store.list() as Resource[]) {
      const spec = r.spec as Record<string, unknown> | undefined
      if ((r.metadata.namespace ?? DEFAULT_NAMESPACE) === ns && spec?.[field] === name) out.push({ kind, ref: refOfMeta(r.metadata) })
    }
  }
  const workflows = target.kind === 'Workflow' ? c.workflows.usedBy(target.ref) : c.workflows.callers(target.ref)
  for (const w of workflows) out.push({ kind: 'Workflow', ref: w })
  return out
}

/** Everything that must go before the function: its dependents, theirs, and so on; deepest first. */
export function dependentsOf(c: ControlContext, fnRef: string): Dependent[] {
  const seen = new Set<string>([`Function ${fnRef}`])
  const order: Dependent[] = []
  const visit = (d: Dependent) => {
    for (const dep of pointingAt(c, d)) {
      const key = `${dep.kind} ${dep.ref}`
      if (seen.has(key)) continue
      seen.add(key)
      visit(dep)
      order.push(dep)
    }
  }
  visit({ kind: 'Function', ref: fnRef })
  return order
}

const label: Record<string, string> = { HTTPTrigger: 'route', CronTrigger: 'cron trigger', QueueTrigger: 'queue trigger', Workflow: 'workflow' }

/** `route "get-hello", workflow "order"`: what a message names. */
export function describeDependents(deps: Dependent[]): string {
  return deps.map((d) => `${label[d.kind] ?? d.kind} "${nameOf(d.ref)}"`).join(', ')
}

/** The refusal a delete answers while the function is in use. */
export function inUse(fnRef: string, deps: Dependent[]): KilnError {
  return new KilnError('KILN_ERR_IN_USE', `function ${describeRef(fnRef)} is used by ${describeDependents(deps)}`,
    { hint: 'delete those first, or delete with --cascade (?cascade=1), which deletes them with it', dependents: deps.map((d) => ({ kind: d.kind, name: nameOf(d.ref) })) })
}

/** Deletes the dependents (deepest first), through the same stores the API writes. */
export async function deleteDependents(c: ControlContext, deps: Dependent[]): Promise<void> {
  for (const d of deps) {
    const store = d.kind === 'Workflow' ? c.workflows.store : c.namespaced.find((n) => n.kind === d.kind)?.store
    await store?.delete(d.ref)
  }
}
