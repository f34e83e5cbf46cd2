// The controller role runs no executor, so "deployed" cannot mean "applied in this process" as in the
// embedded platform. It means the same thing all the same: the executor leader writes a Function's
// status.observedGeneration once it has applied that generation (function-status.ts), and a deploy
// through the controller returns only when the status says so, so the function can be invoked.
import { KilnError } from '../../core/errors.js'
import type { ResourceStore } from '../../core/store/resource-store.js'
import type { FunctionResource } from '../../core/types.js'

/** Resolves once the executor has applied the function's current generation; KILN_ERR_DEPLOY_TIMEOUT after `timeoutMs`. */
export function awaitServable(functions: ResourceStore<FunctionResource>, name: string, timeoutMs: number): Promise<void> {
  const want = functions.get(name)?.metadata.generation ?? 1
  const applied = () => {
    const fn = functions.get(name)
    return fn === undefined || Number(fn.status?.observedGeneration ?? 0) >= want
  }
  if (applied()) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const stop = functions.watch(() => {
      if (!applied()) return
      finish()
      resolve()
    })
    const timer = setTimeout(() => {
      finish()
      reject(new KilnError('KILN_ERR_DEPLOY_TIMEOUT', `function "${name}" (generation ${want}) is stored, but no executor reported it applied within ${timeoutMs} ms`, { function: name, generation: want }))
    }, timeoutMs)
    const finish = () => {
      stop()
      clearTimeout(timer)
    }
  })
}
