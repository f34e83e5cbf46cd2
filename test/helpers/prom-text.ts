// A small reader of Prometheus' text exposition (format 0.0.4) and a checker of its metric names
// against Prometheus' naming rules (https://prometheus.io/docs/practices/naming/): valid names and
// label names, HELP and TYPE for every family, `_total` on counters and only on counters, base units
// (`_seconds`, `_bytes`) and not `_ms`/`_kb`/`_percent`, histograms as `_bucket`/`_sum`/`_count`.
export interface Sample { name: string; labels: Record<string, string>; value: number }
export interface Family { name: string; type?: string; help?: string; samples: Sample[] }

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/
const LABEL_PAIR = /\s*([^=,\s]+)="((?:[^"\\]|\\.)*)"\s*,?/gy

export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>()
  const fam = (name: string) => {
    let f = families.get(name)
    if (!f) families.set(name, f = { name, samples: [] })
    return f
  }
  const owner = (sample: string) => {
    for (const s of ['_bucket', '_sum', '_count']) {
      if (sample.endsWith(s) && families.get(sample.slice(0, -s.length))?.type === 'histogram') return sample.slice(0, -s.length)
    }
    return sample
  }
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line)
    if (meta) {
      if (meta[1] === 'HELP') fam(meta[2]).help = meta[3]
      else fam(meta[2]).type = meta[3]
      continue
    }
    if (line.startsWith('#')) continue
    const m = SAMPLE.exec(line)
    if (!m) throw new Error(`not a sample line: ${line}`)
    const labels: Record<string, string> = {}
    if (m[2]) {
      LABEL_PAIR.lastIndex = 0
      let p: RegExpExecArray | null
      let end = 0
      while ((p = LABEL_PAIR.exec(m[2])) !== null) {
        labels[p[1]] = p[2].replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c))
        end = LABEL_PAIR.lastIndex
      }
      if (end !== m[2].length) throw new Error(`bad labels in: ${line}`)
    }
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3])
    // Prometheus reads NaN in any case (Go's ParseFloat); prom-client writes `Nan`.
    if (Number.isNaN(value) && m[3].toLowerCase() !== 'nan') throw new Error(`not a sample value: ${line}`)
    fam(owner(m[1])).samples.push({ name: m[1], labels, value })
  }
  return families
}

const NON_BASE_UNITS = ['ms', 'msec', 'milliseconds', 'microseconds', 'us', 'nanoseconds', 'ns', 'minutes', 'hours', 'days', 'kb', 'mb', 'gb', 'kib', 'mib', 'gib', 'kilobytes', 'megabytes', 'gigabytes', 'percent', 'pct']
const TIMING = /(duration|latency|wait|time|lag|delay)/

/** Every way the exposition breaks Prometheus' naming rules; empty when it does not. */
export function namingViolations(families: Map<string, Family>): string[] {
  const out: string[] = []
  for (const f of families.values()) {
    const n = f.name
    if (!NAME.test(n)) out.push(`${n}: not a valid metric name`)
    if (n.includes(':')) out.push(`${n}: colons are for recording rules`)
    if (f.type === undefined) out.push(`${n}: no # TYPE`)
    if (f.help === undefined || f.help === '') out.push(`${n}: no # HELP`)
    if (f.type === 'counter' && !n.endsWith('_total')) out.push(`${n}: a counter must end in _total`)
    if (f.type !== 'counter' && n.endsWith('_total')) out.push(`${n}: a ${f.type} must not end in _total`)
    for (const tok of n.split('_')) if (NON_BASE_UNITS.includes(tok.toLowerCase())) out.push(`${n}: uses the unit "${tok}"; use base units (_seconds, _bytes, ratios)`)
    if ((f.type === 'histogram' || f.type === 'summary') && TIMING.test(n) && !/_(seconds|bytes)$/.test(n)) out.push(`${n}: a ${f.type} of time must end in _seconds`)
    const seen = new Set<string>()
    for (const s of f.samples) {
      const key = s.name + JSON.stringify(Object.entries(s.labels).sort())
      if (seen.has(key)) out.push(`${s.name}: duplicate series ${key}`)
      seen.add(key)
      for (const l of Object.keys(s.labels)) {
        if (!LABEL.test(l) || l.startsWith('__')) out.push(`${s.name}: bad label name "${l}"`)
      }
      const allowed = f.type === 'histogram' ? [`${n}_bucket`, `${n}_sum`, `${n}_count`] : f.type === 'summary' ? [n, `${n}_sum`, `${n}_count`] : [n]
      if (!allowed.includes(s.name)) out.push(`${s.name}: sample does not belong to ${f.type} ${n}`)
      if (s.name === `${n}_bucket` && s.labels.le === undefined) out.push(`${s.name}: bucket without le`)
    }
    if (f.type === 'histogram') out.push(...histogramViolations(f))
  }
  return out
}

/** Buckets cumulative and ordered by `le`, ending at +Inf, which equals `_count`, per series. */
function histogramViolations(f: Family): string[] {
  const out: string[] = []
  const series = new Map<string, { buckets: [number, number][]; count?: number }>()
  for (const s of f.samples) {
    const { le, ...rest } = s.labels
    const key = JSON.stringify(Object.entries(rest).sort())
    let e = series.get(key)
    if (!e) series.set(key, e = { buckets: [] })
    if (s.name.endsWith('_bucket')) e.buckets.push([le === '+Inf' ? Infinity : Number(le), s.value])
    else if (s.name.endsWith('_count')) e.count = s.value
  }
  for (const [key, e] of series) {
    for (let i = 1; i < e.buckets.length; i++) {
      if (!(e.buckets[i][0] > e.buckets[i - 1][0])) out.push(`${f.name}${key}: le not increasing`)
      if (e.buckets[i][1] < e.buckets[i - 1][1]) out.push(`${f.name}${key}: buckets not cumulative`)
    }
    const last = e.buckets.at(-1)
    if (!last || last[0] !== Infinity) out.push(`${f.name}${key}: no +Inf bucket`)
    else if (last[1] !== e.count) out.push(`${f.name}${key}: +Inf bucket ${last[1]} != count ${e.count}`)
  }
  return out
}

/** The value of the first series named `sample` whose labels include those given; undefined when none. */
export function value(families: Map<string, Family>, sample: string, labels: Record<string, string> = {}): number | undefined {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name !== sample) continue
      if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value
    }
  }
  return undefined
}
