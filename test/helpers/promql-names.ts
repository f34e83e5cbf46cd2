// The metric names a PromQL expression (or a Grafana `label_values(metric, label)` query) reads:
// what is left once strings, label matchers, ranges, label lists, Grafana variables, numbers,
// keywords and function calls are taken out.
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan', 'atan2'])

export function promqlMetricNames(expr: string): string[] {
  const s = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/label_values\(\s*([^,()]+?)\s*,[^)]*\)/g, '$1')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '')
    .replace(/\$\{[^}]*\}|\$[a-zA-Z_][a-zA-Z0-9_]*/g, '')
  const out: string[] = []
  for (const m of s.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const before = s[m.index - 1]
    if (before !== undefined && /[0-9.]/.test(before)) continue // the tail of a number (1e3) or a duration (5m)
    if (s.slice(m.index + m[0].length).trimStart().startsWith('(')) continue // a function or an aggregation
    if (KEYWORDS.has(m[0].toLowerCase())) continue
    out.push(m[0])
  }
  return out
}
