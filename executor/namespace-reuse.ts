// The namespace rule of instance reuse. A runtime cannot prove that a function's code left nothing
// behind when it was unloaded (a patched global survives any unload), so an instance that has run one
// function's code may be specialized next only with:
//   - the same function again (a new version of it: unload-and-return stays), or
//   - another function of the same namespace, when the operator enabled `shareInstances` for it;
// and never with a function of another namespace, whatever either namespace allows.
// The sandbox's `mayReuse(previous, next)` (which also knows a function deleted and created again is
// another one) takes this rule as its namespace half; `namespaceSharing` is its per-namespace setting
// read from the Namespace resources.
import type { NamespaceResource } from '../core/types.js'

/** Whose code an instance has run, or is about to run. */
export interface CodeOwner { readonly namespace: string; readonly name: string; readonly uid: string }

/** May an instance that ran `previous`'s code be specialized with `next`'s? */
export function namespaceAllowsReuse(previous: CodeOwner, next: CodeOwner, shareInstances: (namespace: string) => boolean): boolean {
  if (previous.namespace !== next.namespace) return false
  if (previous.name === next.name && previous.uid === next.uid) return true
  return shareInstances(next.namespace)
}

/** Each namespace's `shareInstances` (off when unset, `default` included unless stored with it on), read live. */
export function namespaceSharing(namespaces: { get(name: string): NamespaceResource | undefined }): { shareWithinNamespace(namespace: string): boolean } {
  return { shareWithinNamespace: (ns) => namespaces.get(ns)?.spec.shareInstances === true }
}
