// Summary statistics for latency samples (milliseconds).
export interface Summary { n: number; p50: number; p90: number; p99: number; mean: number; min: number; max: number }

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[idx]
}

export function summarize(samples: number[]): Summary {
  const s = [...samples].sort((a, b) => a - b)
  const round = (x: number) => Math.round(x * 1000) / 1000
  return {
    n: s.length, p50: round(percentile(s, 50)), p90: round(percentile(s, 90)), p99: round(percentile(s, 99)),
    mean: round(s.reduce((a, b) => a + b, 0) / (s.length || 1)), min: round(s[0] ?? NaN), max: round(s[s.length - 1] ?? NaN),
  }
}

export function ratio(a: number, b: number): number {
  return Math.round((a / b) * 100) / 100
}
