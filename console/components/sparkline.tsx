// A small line of a series' points (SVG, no inline styles: the CSP allows none); gaps where a point
// has no value (no requests in that interval).
interface Props { values: (number | null)[]; label: string; unit: string; width?: number; height?: number }

export function Sparkline({ values, label, unit, width = 120, height = 24 }: Props) {
  const nums = values.filter((v): v is number => v !== null)
  const max = Math.max(...nums, 0)
  const last = values.length > 0 ? values[values.length - 1] : null
  const step = values.length > 1 ? width / (values.length - 1) : width
  const segments: string[] = []
  let current: string[] = []
  values.forEach((v, i) => {
    if (v === null) {
      if (current.length > 0) segments.push(current.join(' '))
      current = []
      return
    }
    const y = max === 0 ? height - 1 : height - 1 - (v / max) * (height - 2)
    current.push(`${(i * step).toFixed(1)},${y.toFixed(1)}`)
  })
  if (current.length > 0) segments.push(current.join(' '))
  const text = last === null ? '–' : `${format(last)} ${unit}`
  return (
    <span class="spark" data-label={label}>
      <svg width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${label}: ${text}`}>
        <title>{`${label}: ${text} (max ${format(max)} ${unit})`}</title>
        {segments.map((pts) => (pts.includes(' ') ? <polyline points={pts} class="spark-line" /> : <circle cx={pts.split(',')[0]} cy={pts.split(',')[1]} r="1.5" class="spark-dot" />))}
      </svg>
      <span class="spark-value">{text}</span>
    </span>
  )
}

function format(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)
}
