// The executor's view of secrets (executor/secret-delivery.ts FunctionSecrets) over the secret store:
// which values a function's instances get, a fingerprint that changes with them, and a watch.
import { KilnError } from '../core/errors.js'
import { DEFAULT_NAMESPACE, refOf } from '../core/refs.js'
import { describeRef } from '../core/store/resource-store.js'
import type { SecretStore } from '../core/store/secret-store.js'
import type { FunctionResource } from '../core/types.js'
import { secretsFingerprint, type FunctionSecrets, type SecretFile } from '../executor/secret-delivery.js'

export function functionSecrets(store: SecretStore): FunctionSecrets {
  const nsOf = (fn: FunctionResource) => fn.metadata.namespace ?? DEFAULT_NAMESPACE
  const valuesOf = (fn: FunctionResource, name: string) => {
    const ref = refOf(nsOf(fn), name)
    const values = store.values(ref)
    if (!values) throw new KilnError('KILN_ERR_SECRET_NOT_FOUND', `function "${fn.metadata.name}" lists secret ${describeRef(ref)}, which does not exist`)
    return values
  }
  return {
    version: (fn) => secretsFingerprint(fn, (name) => store.get(refOf(nsOf(fn), name))?.version),
    material(fn) {
      const files: SecretFile[] = []
      for (const name of fn.spec.secrets ?? []) for (const [key, value] of valuesOf(fn, name)) files.push({ name, key, value })
      const env: Record<string, string> = {}
      for (const e of fn.spec.secretEnv ?? []) {
        const v = valuesOf(fn, e.secret).get(e.key)
        if (v === undefined) throw new KilnError('KILN_ERR_SECRET_NOT_FOUND', `function "${fn.metadata.name}" maps key "${e.key}" of secret "${e.secret}", which has no such key`)
        env[e.env] = v.toString('utf8')
      }
      return { files, env }
    },
    watch: (cb) => store.watch((ev) => cb(ev.info.namespace, ev.info.name)),
  }
}
