// Keeps every function's releases whole, level-triggered over the function store: a function with no
// version or no traffic record (stored before versions existed) gets version 1 serving all traffic; a
// function whose spec its newest version does not have (written around the deploy path: kubectl, the
// platform itself) gets it as a new version serving all traffic, as a deploy would; a deleted function's
// versions and traffic go with it (however it was deleted: the API, `kiln ns delete --cascade`,
// kubectl). Runs where the control API writes (the embedded platform, the Kubernetes controller);
// idempotent, so two of them at once do no harm.
import type { Logger } from 'pino'
import { refOfMeta } from '../refs.js'
import type { ResourceStore } from '../store/resource-store.js'
import type { FunctionResource } from '../types.js'
import { functionRefOf, type Releases } from './releases.js'

export async function keepReleases(functions: ResourceStore<FunctionResource>, releases: Releases, logger: Logger): Promise<() => void> {
  const adopt = (fn: FunctionResource) => {
    const ref = refOfMeta(fn.metadata)
    if (!releases.needsReconcile(fn)) return undefined
    return releases.reconcile(ref, () => functions.get(ref)).catch((err: Error) => logger.warn({ err, function: ref }, 'function versions not recorded; retrying on its next change'))
  }
  const unwatch = functions.watch((ev) => {
    const ref = refOfMeta(ev.object.metadata)
    if (ev.type === 'put') void adopt(ev.object)
    // What exists now is what the deleted function had: a function made again meanwhile keeps its own.
    else void releases.forget(ref, releases.snapshot(ref)).catch((err: Error) => logger.warn({ err, function: ref }, 'versions of a deleted function not removed'))
  })
  for (const fn of functions.list()) await adopt(fn)
  const orphans = new Set<string>()
  for (const v of releases.stores.versions.list()) orphans.add(functionRefOf(v))
  for (const t of releases.stores.traffic.list()) orphans.add(functionRefOf(t))
  for (const ref of orphans) if (!functions.get(ref)) await releases.forget(ref).catch((err: Error) => logger.warn({ err, function: ref }, 'versions of a deleted function not removed'))
  return unwatch
}
