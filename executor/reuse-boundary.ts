// Reuse across trust boundaries. A runtime cannot prove that a function's code left nothing behind when
// it was unloaded (a patched global such as JSON.stringify survives any unload), so an instance that has
// run one function's code is handed only to that same function again (a new version of it, or a retry
// after a failed load), or, where the namespace allows it (`shareInstances`), to another function of
// that namespace; never across namespaces. "Same function" is the function's identity, not its name: a
// function that is deleted and created again under the same name is another function.
//
// This is the one question the pools ask; its answer is the namespace rule (namespace-reuse.ts).
import { DEFAULT_NAMESPACE } from '../core/refs.js'
import type { FunctionResource } from '../core/types.js'
import type { CodeOwner } from '../poolmgr/instance.js'
import { NO_SHARING, namespaceAllowsReuse, type NamespaceSharing } from './namespace-reuse.js'

/** Who a function is, for this rule: its namespace, name and creation (a recreated function differs). */
export function codeOwner(fn: FunctionResource): CodeOwner {
  const m = fn.metadata
  return { namespace: m.namespace ?? DEFAULT_NAMESPACE, name: m.name, uid: m.createdAt ?? '' }
}

/** May an instance that has run `previous`'s code (undefined: none yet) be specialized with `next`? */
export function mayReuse(previous: CodeOwner | undefined, next: CodeOwner, policy: NamespaceSharing = NO_SHARING): boolean {
  return previous === undefined || namespaceAllowsReuse(previous, next, (ns) => policy.shareWithinNamespace(ns))
}

/** The same function (not merely the same name): its kept instances go when it is deleted. */
export function sameOwner(a: CodeOwner, b: CodeOwner): boolean {
  return a.namespace === b.namespace && a.name === b.name && a.uid === b.uid
}
