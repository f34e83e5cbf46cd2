// A child cgroup can never exceed its parent: validate requested limits and clamp them to the
// tightest ancestor, saying what was changed so the caller can log it.

import { KilnError } from '../../../core/errors.js'
import { formatCpuList, parseCpuList } from './file-parse.js'
import type { CgroupLimits } from './types.js'

/** The tightest limits among a group's ancestors (undefined: no ancestor limits that resource). */
export interface AncestorLimits {
  cpu?: number
  memoryBytes?: number
  pids?: number
  /** The parent's cpus (cpuset.cpus or cpuset.cpus.effective). */
  cpus?: number[]
}

export interface ClampNote {
  field: keyof CgroupLimits
  requested: number | string
  applied: number | string
  parentLimit: number | string
}

function invalid(field: string, value: unknown, want: string): KilnError {
  return new KilnError('KILN_ERR_VALIDATION', `cgroup limit ${field}=${String(value)} is invalid: ${want}`, { field })
}

export function validateLimits(l: CgroupLimits): void {
  if (l.cpu !== undefined && !(l.cpu > 0)) throw invalid('cpu', l.cpu, 'cores must be > 0 (e.g. 0.5), or Infinity for none')
  for (const f of ['memoryBytes', 'memoryHighBytes', 'pids'] as const) {
    const v = l[f]
    if (v === undefined || v === Infinity) continue
    if (!Number.isInteger(v) || v <= 0) throw invalid(f, v, 'must be a positive integer, or Infinity for none')
  }
  if (l.cpuset !== undefined) {
    try {
      if (parseCpuList(l.cpuset).length === 0) throw new Error('empty')
    } catch {
      throw invalid('cpuset', l.cpuset, 'use a cpu list such as "1" or "0-1,3"')
    }
  }
}

export function clampLimits(req: CgroupLimits, parent: AncestorLimits): { limits: CgroupLimits; notes: ClampNote[] } {
  validateLimits(req)
  const limits: CgroupLimits = { ...req }
  const notes: ClampNote[] = []
  const cap = (field: 'cpu' | 'memoryBytes' | 'memoryHighBytes' | 'pids', max: number | undefined) => {
    const v = limits[field]
    if (v === undefined || v === Infinity || max === undefined || v <= max) return
    limits[field] = max
    notes.push({ field, requested: v, applied: max, parentLimit: max })
  }
  cap('cpu', parent.cpu)
  cap('memoryBytes', parent.memoryBytes)
  cap('memoryHighBytes', parent.memoryBytes)
  cap('pids', parent.pids)
  if (limits.cpuset !== undefined && parent.cpus !== undefined) {
    const want = parseCpuList(limits.cpuset)
    const allowed = new Set(parent.cpus)
    const kept = want.filter((c) => allowed.has(c))
    if (kept.length === 0) {
      throw new KilnError('KILN_ERR_VALIDATION', `cgroup cpuset "${limits.cpuset}" has no cpu in the parent's set "${formatCpuList(parent.cpus)}"`, {
        field: 'cpuset',
      })
    }
    if (kept.length !== want.length) {
      const applied = formatCpuList(kept)
      notes.push({ field: 'cpuset', requested: limits.cpuset, applied, parentLimit: formatCpuList(parent.cpus) })
      limits.cpuset = applied
    }
  }
  return { limits, notes }
}

/** Tightest of two optional limits. */
export function tighter(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b
  if (b === undefined) return a
  return Math.min(a, b)
}
