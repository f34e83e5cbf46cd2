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
