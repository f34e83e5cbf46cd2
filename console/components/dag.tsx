// A workflow execution drawn as its DAG: one box per top-level task, coloured by its status (pending
// when it has not started), with its nested steps (foreach items, switch branches, catch) counted
// under it; arrows from each task to those that require it.
import { layoutDag } from '../dag-layout'
import type { Execution, TaskState } from '../types'

const W = 170, H = 54, GAP_X = 60, GAP_Y = 22, PAD = 10

export function Dag({ execution }: { execution: Execution }) {
  const tasks = execution.spec?.tasks ?? Object.fromEntries(Object.keys(execution.tasks).filter((p) => !/[.[]/.test(p)).map((p) => [p, {}]))
  const { nodes, edges, columns, rows } = layoutDag(tasks)
  const at = new Map(nodes.map((n) => [n.name, { x: PAD + n.column * (W + GAP_X), y: PAD + n.row * (H + GAP_Y) }]))
  const width = PAD * 2 + columns * W + Math.max(0, columns - 1) * GAP_X
  const height = PAD * 2 + rows * H + Math.max(0, rows - 1) * GAP_Y
  return (
    <svg class="dag" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`workflow ${execution.workflow}`}>
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M 0 0 L 10 5 L 0 10 z" class="dag-arrow" />
        </marker>
      </defs>
      {edges.map((e) => {
        const a = at.get(e.from)!, b = at.get(e.to)!
        const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2
        return <path class="dag-edge" d={`M ${x1} ${y1} C ${x1 + GAP_X / 2} ${y1}, ${x2 - GAP_X / 2} ${y2}, ${x2} ${y2}`} marker-end="url(#arrow)" />
      })}
      {nodes.map((n) => {
        const p = at.get(n.name)!
        const t = execution.tasks[n.name]
        const status = t?.status ?? 'pending'
        const nested = nestedOf(execution.tasks, n.name)
        return (
          <g class={`dag-node st-${status}`} data-task={n.name} data-status={status} transform={`translate(${p.x} ${p.y})`}>
            <title>{`${n.name}: ${status}${t?.error?.message ? ` — ${t.error.message}` : ''}`}</title>
            <rect width={W} height={H} rx="6" />
            <text x="10" y="18" class="dag-name">{n.name}</text>
            <text x="10" y="33" class="dag-status">{status}{t?.durationMs !== undefined ? ` · ${t.durationMs} ms` : ''}{t && t.attempts > 1 ? ` · ${t.attempts} tries` : ''}</text>
            {nested && <text x="10" y="47" class="dag-nested">{nested}</text>}
          </g>
        )
      })}
    </svg>
  )
}

/** "3 steps: 2 succeeded, 1 failed" for a task's nested steps. */
function nestedOf(tasks: Record<string, TaskState>, name: string): string | undefined {
  const counts = new Map<string, number>()
  for (const [path, t] of Object.entries(tasks)) {
    if (path.startsWith(`${name}[`) || path.startsWith(`${name}.`)) counts.set(t.status, (counts.get(t.status) ?? 0) + 1)
  }
  if (counts.size === 0) return undefined
  const total = [...counts.values()].reduce((a, b) => a + b, 0)
  return `${total} steps: ${[...counts].map(([s, c]) => `${c} ${s}`).join(', ')}`
}
