// Helpers every handler of a namespaced kind shares: a request body put in the namespace the request
// acts in, and the answer to a delete.
import { KilnError } from '../core/errors.js'
import { DEFAULT_NAMESPACE } from '../core/refs.js'
import type { Resource } from '../core/types.js'

/**
 * The body's resource in `ns`. A body may name its namespace only when it is that one: the request's
 * namespace (`?namespace=`, or the token's) decides, as kubectl's does.
 */
export function inNamespace<T extends Resource>(obj: T, ns: string): T {
  const given = obj.metadata.namespace
  if (given !== undefined && given !== ns) {
    throw new KilnError('KILN_ERR_VALIDATION', `metadata.namespace: "${given}" is not the request's namespace "${ns}" (send it with ?namespace=${given}, or -n ${given} on the CLI)`)
  }
  return { ...obj, metadata: { ...obj.metadata, namespace: ns } }
}

/** `{deleted: name}`, with the namespace when it is not `default`. */
export function deleted(m: { name: string; namespace?: string }): Record<string, string> {
  return m.namespace && m.namespace !== DEFAULT_NAMESPACE ? { deleted: m.name, namespace: m.namespace } : { deleted: m.name }
}
