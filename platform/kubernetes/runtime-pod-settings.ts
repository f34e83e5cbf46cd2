// KILN_RUNTIME_POD_TEMPLATE: what the operator sets for every runtime pod the executor creates (the
// chart's `nodes` and `runtimePods` values): placement on Runtime Worker Nodes and isolated nodes, the
// requests of a generic pod, its /tmp size and its security contexts (cluster/kubernetes/pod-template.ts),
// and whether the chart's NetworkPolicy guards them (reported in the pods' protections).
import { KilnError } from '../../core/errors.js'
import type { RuntimePodTemplate } from '../../cluster/kubernetes/pod-template.js'

const KEYS = new Set(['runtime', 'isolated', 'requests', 'tmpSize', 'podSecurityContext', 'containerSecurityContext', 'networkPolicy'])
const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x)

export function parseRuntimePodTemplate(json: string): RuntimePodTemplate {
  let doc: unknown
  try {
    doc = JSON.parse(json)
  } catch (e) {
    throw new KilnError('KILN_ERR_VALIDATION', `KILN_RUNTIME_POD_TEMPLATE: not JSON (${(e as Error).message})`)
  }
  if (!isObj(doc)) throw new KilnError('KILN_ERR_VALIDATION', 'KILN_RUNTIME_POD_TEMPLATE: must be an object')
  for (const k of Object.keys(doc)) if (!KEYS.has(k)) throw new KilnError('KILN_ERR_VALIDATION', `KILN_RUNTIME_POD_TEMPLATE.${k}: unknown field (known: ${[...KEYS].join(', ')})`)
  for (const p of ['runtime', 'isolated'] as const) {
    const v = doc[p]
    if (v === undefined) continue
    if (!isObj(v)) throw new KilnError('KILN_ERR_VALIDATION', `KILN_RUNTIME_POD_TEMPLATE.${p}: must be an object with nodeSelector and tolerations`)
    if (v.nodeSelector !== undefined && (!isObj(v.nodeSelector) || Object.values(v.nodeSelector).some((x) => typeof x !== 'string'))) {
      throw new KilnError('KILN_ERR_VALIDATION', `KILN_RUNTIME_POD_TEMPLATE.${p}.nodeSelector: must map label keys to strings`)
    }
    if (v.tolerations !== undefined && (!Array.isArray(v.tolerations) || v.tolerations.some((t) => !isObj(t)))) {
      throw new KilnError('KILN_ERR_VALIDATION', `KILN_RUNTIME_POD_TEMPLATE.${p}.tolerations: must be a list of tolerations`)
    }
  }
  if (doc.tmpSize !== undefined && (typeof doc.tmpSize !== 'string' || !/^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|k|M|G)?$/.test(doc.tmpSize))) {
    throw new KilnError('KILN_ERR_VALIDATION', 'KILN_RUNTIME_POD_TEMPLATE.tmpSize: must be a size such as 64Mi')
  }
  if (doc.networkPolicy !== undefined && typeof doc.networkPolicy !== 'boolean') {
    throw new KilnError('KILN_ERR_VALIDATION', 'KILN_RUNTIME_POD_TEMPLATE.networkPolicy: must be true or false')
  }
  return doc as RuntimePodTemplate
}
