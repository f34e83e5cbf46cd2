// Which function settings take effect under which strategy and reuse policy, declared once: the
// controller refuses a spec that carries a setting its strategy or policy ignores (the API and every
// client give the same answer), and `kiln fn deploy` uses the same table to drop settings of a strategy
// it moves away from (and says so). Also the quantity checks a schema pattern cannot make (`128m` of
// memory is 0.128 bytes in Kubernetes' notation, not 128 MB).
import { KilnError } from './errors.js'
import { checkMemoryQuantity } from './quantity.js'
import type { FunctionSpec } from './types.js'

export interface SettingRule {
  /** The spec field. */
  field: keyof FunctionSpec
  /** Under which spec it takes effect. */
  applies(spec: Partial<FunctionSpec>): boolean
  /** Where it belongs, for messages: `strategy warm`. */
  belongs: string
}

export const SETTING_RULES: readonly SettingRule[] = [
  { field: 'minWarm', applies: (s) => s.strategy === 'warm', belongs: 'strategy warm' },
  { field: 'minScale', applies: (s) => s.strategy === 'dedicated', belongs: 'strategy dedicated' },
  // (`warmup` is not here: it also warms the instance a `pool` function gets ready in the background
  // while it rolls to a new version, so it has an effect under every strategy.)
  { field: 'maxRequests', applies: (s) => s.reuse === 'recycle', belongs: 'reuse recycle' },
  { field: 'maxAgeMs', applies: (s) => s.reuse === 'recycle', belongs: 'reuse recycle' },
]

/** The settings of `spec` that would have no effect, each with where it belongs. */
export function ineffectiveSettings(spec: Partial<FunctionSpec>): SettingRule[] {
  return SETTING_RULES.filter((r) => spec[r.field] !== undefined && !r.applies(spec))
}

const chosen = (s: Partial<FunctionSpec>) => `strategy ${s.strategy ?? 'pool'}, reuse ${s.reuse ?? 'reuse'}`

/** Throws KILN_ERR_INEFFECTIVE_SETTING (naming the field, what it belongs to, and the fix) or KILN_ERR_VALIDATION. */
export function checkFunctionSettings(spec: Partial<FunctionSpec>): void {
  const bad = ineffectiveSettings(spec)
  if (bad.length > 0) {
    const r = bad[0]
    throw new KilnError('KILN_ERR_INEFFECTIVE_SETTING',
      `spec.${r.field}: has no effect with ${chosen(spec)}; it applies to ${r.belongs} (set that, or remove ${r.field})`)
  }
  const memory = spec.resources?.memory
  if (memory !== undefined) {
    const why = checkMemoryQuantity(memory)
    if (why) throw new KilnError('KILN_ERR_VALIDATION', `spec.resources.memory: ${why}`)
  }
}
