// Reuse across trust boundaries. A runtime cannot prove that a function's code left nothing behind when
// it was unloaded (a patched global such as JSON.stringify survives any unload), so an instance that has
// run one function's code is only ever handed to that same function again (a new version of it, or a
// retry after a failed load). "Same function" is the function's identity, not its name: a function that
// is deleted and created again under the same name is another function.
//
// This is the one rule that decides it. Namespaces (docs/sandbox.md) will let an operator allow sharing
// within a namespace; until then `policy` has no way to allow more.
import type { FunctionResource } from '../core/types.js'
import type { CodeOwner } from '../poolmgr/instance.js'

export interface ReusePolicy {
  /** Whether instances may pass between different functions of this namespace (off by default). */
  shareWithinNamespace(namespace: string): boolean
}

export const NO_SHARING: ReusePolicy = { shareWithinNamespace: () => false }

/** Who a function is, for this rule: its namespace, name and creation (a recreated function differs). */
export function codeOwner(fn: FunctionResource): CodeOwner {
  const m = fn.metadata as FunctionResource['metadata'] & { namespace?: string; uid?: string }
  return { namespace: m.namespace ?? 'default', name: m.name, uid: m.uid ?? m.createdAt ?? '' }
}

/** May an instance that has run `previous`'s code (undefined: none yet) be specialized with `next`? */
export function mayReuse(previous: CodeOwner | undefined, next: CodeOwner, policy: ReusePolicy = NO_SHARING): boolean {
  if (previous === undefined) return true
  if (previous.namespace !== next.namespace) return false
  if (previous.name === next.name && previous.uid === next.uid) return true
  return policy.shareWithinNamespace(next.namespace)
}
