// Parsing of the quantities users type: durations (`30s`, `5m`, `1500ms`) and sizes (`128Mi`, `1G`).

const SIZE: Record<string, number> = { '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, m: 1e6, g: 1e9, t: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 }

export function parseBytes(s: string | number): number {
  if (typeof s === 'number') return s
  const m = /^([0-9]+(?:\.[0-9]+)?)([KMGT]i?|[kmgt])?$/.exec(s.trim())
  if (!m) throw new Error(`not a size: "${s}" (use e.g. 128Mi, 1G, 65536)`)
  return Math.round(Number(m[1]) * SIZE[m[2] ?? ''])
}

const DURATION: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

export function parseDuration(s: string | number): number {
  if (typeof s === 'number') return s
  const parts = s.trim().match(/([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g)
  if (!parts || parts.join('') !== s.trim()) {
    if (/^[0-9]+$/.test(s.trim())) return Number(s)
    throw new Error(`not a duration: "${s}" (use e.g. 500ms, 30s, 5m, 1h30m)`)
  }
  let total = 0
  for (const p of parts) {
    const m = /([0-9.]+)(ms|s|m|h)/.exec(p)!
    total += Number(m[1]) * DURATION[m[2]]
  }
  return Math.round(total)
}

// ---- What users type on the command line and in spec files (docs/declarative.md): nothing ambiguous
// is guessed. Durations are seconds unless they carry a unit (Fission's --fntimeout 30 is 30 s); sizes
// are Kubernetes quantities, where `m` is milli: `128m` of memory is refused with the fix, not read as
// 128 MB; cpu is cores or millicores.

const USER_DURATION = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)/g
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** Milliseconds of `30` (seconds), `500ms`, `30s`, `5m`, `1h30m`, `2d`; throws naming the accepted forms. */
export function parseUserDuration(input: string): number {
  const s = input.trim()
  if (/^[0-9]+(\.[0-9]+)?$/.test(s)) return Math.round(Number(s) * 1000)
  const parts = s.match(USER_DURATION)
  if (!parts || parts.join('') !== s) throw new Error(`not a duration: "${input}" (seconds, or a number with a unit: 500ms, 30s, 5m, 1h30m)`)
  let ms = 0
  for (const p of parts) {
    const m = /^([0-9.]+)(ms|s|m|h|d)$/.exec(p)!
    ms += Number(m[1]) * UNIT_MS[m[2]]
  }
  return Math.round(ms)
}

/** `30s`, `1m30s`, `250ms`: the shortest exact way to write a duration back. */
export function formatDuration(ms: number): string {
  if (ms % 1000 !== 0) return `${ms}ms`
  let s = ms / 1000
  const out: string[] = []
  for (const [unit, n] of [['h', 3600], ['m', 60]] as const) {
    if (s >= n) { out.push(`${Math.floor(s / n)}${unit}`); s %= n }
  }
  if (s > 0 || out.length === 0) out.push(`${s}s`)
  return out.join('')
}

const QUANTITY = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|k|K|M|G|T|[a-zA-Z]+)?$/

/**
 * Why a size (memory, body limit) is ambiguous or not a Kubernetes quantity, with the fix; undefined
 * when it is fine. Unit-less numbers are bytes, which below 1 MiB is almost surely a forgotten unit.
 */
export function checkMemoryQuantity(input: string): string | undefined {
  const m = QUANTITY.exec(input.trim())
  if (!m) return `"${input}" is not a size (e.g. 128Mi, 1Gi, 512M)`
  const [, n, unit] = m
  if (unit === 'm') return `"${input}" is ${Number(n) / 1000} bytes: m is milli in Kubernetes quantities; write ${n}Mi (mebibytes) or ${n}M (megabytes)`
  if (unit === 'g' || unit === 't') return `"${input}" is not a Kubernetes quantity; write ${n}${unit.toUpperCase()}i or ${n}${unit.toUpperCase()}`
  if (unit !== undefined && !['Ki', 'Mi', 'Gi', 'Ti', 'k', 'K', 'M', 'G', 'T'].includes(unit)) return `"${input}": unknown unit ${unit} (use Ki, Mi, Gi, or k, M, G)`
  if (unit === undefined && Number(n) < 1024 * 1024) return `"${input}" is ${n} bytes; give a unit: ${n}Mi (mebibytes) or ${n}M (megabytes)`
  return undefined
}

/** Bytes of a size, refusing what checkMemoryQuantity refuses. */
export function parseSizeQuantity(input: string): number {
  const why = checkMemoryQuantity(input)
  if (why) throw new Error(why)
  return parseBytes(input.trim())
}

/** Cores of `0.5`, `2` or `500m` (millicores). */
export function parseCpuQuantity(input: string): number {
  const s = input.trim()
  const m = /^([0-9]+(?:\.[0-9]+)?)(m)?$/.exec(s)
  if (!m) throw new Error(`not a cpu quantity: "${input}" (cores, e.g. 0.5 or 2, or millicores, e.g. 500m)`)
  const cores = m[2] ? Number(m[1]) / 1000 : Number(m[1])
  if (cores <= 0) throw new Error(`cpu must be more than 0, got "${input}"`)
  return cores
}
