// The operator's limits for every function (kiln.yaml `sandbox.limits`): what a function gets when it
// asks for nothing (`default`), and the most it may ask for (`max`). A function may ask for less than
// the default, or more up to the maximum; beyond it the deploy is refused with KILN_ERR_VALIDATION.
import type { SandboxLimitsConfig } from './config.js'
import { KilnError } from './errors.js'
import { parseBytes } from './quantity.js'
import type { FunctionSpec } from './types.js'

/** Limits in numbers: bytes, counts. */
export interface Limits { memoryBytes?: number; pids?: number; openFiles?: number; fileSizeBytes?: number; tmpBytes?: number }

export interface LimitsPolicy { readonly default: Limits; readonly max: Limits }

const FIELDS = [
  // [limit, kiln.yaml key, function spec.resources key]
  ['memoryBytes', 'memory', 'memory'],
  ['pids', 'pids', 'pids'],
  ['openFiles', 'openFiles', 'openFiles'],
  ['fileSizeBytes', 'fileSize', 'fileSize'],
  ['tmpBytes', 'tmp', 'tmp'],
] as const

function toLimits(c: SandboxLimitsConfig, where: string): Limits {
  const out: Limits = {}
  for (const [field, key] of FIELDS) {
    const v = c[key]
    if (v === undefined || v === null) continue
    let n: number
    try {
      n = typeof v === 'number' ? v : parseBytes(String(v))
    } catch (e) {
      throw new KilnError('KILN_ERR_VALIDATION', `config ${where}.${key}: ${(e as Error).message}`)
    }
    if (!Number.isFinite(n) || n <= 0) throw new KilnError('KILN_ERR_VALIDATION', `config ${where}.${key}: must be a positive number, got ${JSON.stringify(v)}`)
    out[field] = n
  }
  return out
}

/** The operator's policy from kiln.yaml; a default above its maximum is a configuration error. */
export function limitsPolicy(c: { default: SandboxLimitsConfig; max: SandboxLimitsConfig }): LimitsPolicy {
  const d = toLimits(c.default, 'sandbox.limits.default')
  const max = toLimits(c.max, 'sandbox.limits.max')
  for (const [field, key] of FIELDS) {
    if (d[field] !== undefined && max[field] !== undefined && d[field]! > max[field]!) {
      throw new KilnError('KILN_ERR_VALIDATION', `config sandbox.limits.default.${key} (${d[field]}) is above sandbox.limits.max.${key} (${max[field]})`)
    }
  }
  return { default: d, max }
}

/** A function's own requests (spec.resources) in numbers; absent fields are absent. */
export function requestedLimits(r: FunctionSpec['resources']): Limits {
  const out: Limits = {}
  if (!r) return out
  if (r.memory !== undefined) out.memoryBytes = parseBytes(r.memory)
  if (r.pids !== undefined) out.pids = r.pids
  if (r.openFiles !== undefined) out.openFiles = r.openFiles
  if (r.fileSize !== undefined) out.fileSizeBytes = parseBytes(r.fileSize)
  if (r.tmp !== undefined) out.tmpBytes = parseBytes(r.tmp)
  return out
}

/** Refuses a function that asks for more than the operator allows (checked at deploy). */
export function checkLimits(r: FunctionSpec['resources'], policy: LimitsPolicy): void {
  const asked = requestedLimits(r)
  for (const [field, , specKey] of FIELDS) {
    const max = policy.max[field]
    if (asked[field] !== undefined && max !== undefined && asked[field]! > max) {
      throw new KilnError('KILN_ERR_VALIDATION', `spec.resources.${specKey}: ${r![specKey]} is above the operator's maximum of ${max}${field === 'pids' || field === 'openFiles' ? '' : ' bytes'} (sandbox.limits.max in kiln.yaml)`, { field: `spec.resources.${specKey}`, max })
    }
  }
}
