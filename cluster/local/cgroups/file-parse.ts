// Parsing of the cgroup interface files of both versions (cpu.stat, memory.events, cpu.max, ...).

/** "key value" lines (cpu.stat, memory.events, memory.oom_control, pids.events) → map of numbers. */
export function parseFlatKeyed(text: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/)
    if (k && v !== undefined && /^-?[0-9]+$/.test(v)) out[k] = Number(v)
  }
  return out
}

export interface CpuStat {
  usageUsec?: number
  nrPeriods: number
  nrThrottled: number
  throttledUsec: number
}

/**
 * cpu.stat of either version. v2: usage_usec, nr_periods, nr_throttled, throttled_usec.
 * v1: nr_periods, nr_throttled, throttled_time (ns); usage comes from cpuacct.usage instead.
 */
export function parseCpuStat(text: string): CpuStat {
  const kv = parseFlatKeyed(text)
  const throttledUsec = kv.throttled_usec ?? (kv.throttled_time !== undefined ? Math.floor(kv.throttled_time / 1000) : 0)
  return { usageUsec: kv.usage_usec, nrPeriods: kv.nr_periods ?? 0, nrThrottled: kv.nr_throttled ?? 0, throttledUsec }
}

/** "some avg10=1.23 avg60=... total=..." → the some avg10, or undefined. */
export function parsePressureSomeAvg10(text: string): number | undefined {
  const m = /^some\b.*\bavg10=([0-9.]+)/m.exec(text)
  return m ? Number(m[1]) : undefined
}

/** v2 cpu.max "quota period" or "max period" → cores, undefined when unlimited. */
export function parseCpuMax(text: string): { cores?: number; periodUsec: number } {
  const [q, p] = text.trim().split(/\s+/)
  const periodUsec = Number(p) || 100_000
  return { cores: q === 'max' || q === undefined ? undefined : Number(q) / periodUsec, periodUsec }
}

/** v1 memory "unlimited" is PAGE_COUNTER_MAX pages; anything this large means no limit. */
export const V1_UNLIMITED_THRESHOLD = 2 ** 62

/** "max" (v2) or a huge v1 number → undefined; otherwise the number. */
export function parseLimitValue(text: string): number | undefined {
  const t = text.trim()
  if (t === 'max' || t === '' || t === '-1') return undefined
  const n = Number(t)
  if (!Number.isFinite(n) || n >= V1_UNLIMITED_THRESHOLD) return undefined
  return n
}

/** "0-3,5" → [0,1,2,3,5]. Throws on malformed lists. */
export function parseCpuList(text: string): number[] {
  const out = new Set<number>()
  const t = text.trim()
  if (!t) return []
  for (const part of t.split(',')) {
    const m = /^([0-9]+)(?:-([0-9]+))?$/.exec(part.trim())
    if (!m) throw new Error(`not a cpu list: "${text}" (use e.g. "1" or "0-1,3")`)
    const a = Number(m[1])
    const b = m[2] === undefined ? a : Number(m[2])
    if (b < a) throw new Error(`not a cpu list: "${text}" (range ${part} runs backwards)`)
    for (let i = a; i <= b; i++) out.add(i)
  }
  return [...out].sort((x, y) => x - y)
}

/** [0,1,2,5] → "0-2,5". */
export function formatCpuList(cpus: number[]): string {
  const s = [...new Set(cpus)].sort((a, b) => a - b)
  const parts: string[] = []
  for (let i = 0; i < s.length; ) {
    let j = i
    while (j + 1 < s.length && s[j + 1] === s[j] + 1) j++
    parts.push(i === j ? String(s[i]) : `${s[i]}-${s[j]}`)
    i = j + 1
  }
  return parts.join(',')
}

/** cgroup.procs / tasks: one pid per line. */
export function parsePids(text: string): number[] {
  const out: number[] = []
  for (const line of text.split('\n')) {
    const n = Number(line.trim())
    if (line.trim() && Number.isInteger(n)) out.push(n)
  }
  return out
}
