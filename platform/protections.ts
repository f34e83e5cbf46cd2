// What confines instances here, as the controller reads it (controller/read-models.ts Protections):
// the embedded sandbox's report (cluster/local/sandbox/protections.ts) or what Kiln's pods have
// (cluster/kubernetes/pod-protections.ts). Both are decided once at startup.
import type { Protection } from '../cluster/backend.js'
import type { Protections } from '../controller/read-models.js'

export function protectionsView(list: readonly Protection[]): Protections {
  const missing = list.filter((p) => !p.active).map((p) => ({ name: p.name, detail: p.detail }))
  return { missing: () => missing }
}
