// Go's time.ParseDuration, which Fission Workflows' sleep and while's delay use: "300ms", "-1.5h",
// "2h45m", "1us"; units ns, us (µs, μs), ms, s, m, h. Returns milliseconds, or undefined.
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
const WHOLE = /^[-+]?((\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$/
const PART = /(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g

export function parseGoDuration(text: string): number | undefined {
  const s = text.trim()
  if (s === '0' || s === '+0' || s === '-0') return 0
  if (!WHOLE.test(s)) return undefined
  let total = 0
  for (const m of s.matchAll(PART)) total += Number(m[1]) * UNIT_MS[m[2]!]!
  return s.startsWith('-') ? -total : total
}
