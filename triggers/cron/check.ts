// A CronTrigger as the control API accepts it: the schema, a schedule croner (or @every) can read, an
// IANA time zone, and a deployed function of the namespace the trigger is made in (a trigger calls the
// functions of its own namespace). KILN_ERR_VALIDATION names the field.
import { KilnError } from '../../core/errors.js'
import { DEFAULT_NAMESPACE, refOf } from '../../core/refs.js'
import type { ResourceStore } from '../../core/store/resource-store.js'
import type { CronTriggerResource, FunctionResource } from '../../core/types.js'
import { validateResource } from '../../core/validate.js'
import { parseSchedule } from './schedule.js'

/** Largest `data` a trigger carries (it is stored with the trigger and sent with every run). */
const MAX_DATA_BYTES = 64 * 1024

export function checkCronTrigger(body: unknown, functions: ResourceStore<FunctionResource>, namespace: string, urlName?: string): CronTriggerResource {
  const b = (body ?? {}) as Record<string, unknown>
  const meta = (b.metadata ?? {}) as Record<string, unknown>
  const withName = urlName !== undefined ? { ...b, metadata: { ...meta, name: meta.name ?? urlName } } : b
  const t = validateResource<CronTriggerResource>('CronTrigger', withName)
  if (urlName !== undefined && t.metadata.name !== urlName) throw new KilnError('KILN_ERR_VALIDATION', `metadata.name: "${t.metadata.name}" does not match the URL's "${urlName}"`)
  parseSchedule(t.spec.schedule, { timezone: t.spec.timezone, anchor: Date.now() })
  if (!functions.get(refOf(namespace, t.spec.function))) {
    throw new KilnError('KILN_ERR_VALIDATION', `spec.function: no function "${t.spec.function}"${namespace === DEFAULT_NAMESPACE ? '' : ` in namespace "${namespace}"`} (see \`kiln fn list\`)`)
  }
  if (t.spec.data !== undefined && Buffer.byteLength(JSON.stringify(t.spec.data)) > MAX_DATA_BYTES) {
    throw new KilnError('KILN_ERR_VALIDATION', `spec.data: at most ${MAX_DATA_BYTES} bytes of JSON`)
  }
  return t
}
