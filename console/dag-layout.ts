// Where each task of a workflow goes in the console's drawing: tasks in columns by the longest chain
// of `requires` before them (a task right of everything it waits for), in the spec's order within a
// column. Plain data, no DOM (tested on its own).

export interface Placed { name: string; column: number; row: number }
export interface Edge { from: string; to: string }

export function layoutDag(tasks: Record<string, { requires?: string[] }>): { nodes: Placed[]; edges: Edge[]; columns: number; rows: number } {
  const names = Object.keys(tasks)
  const depth = new Map<string, number>()
  const visiting = new Set<string>()
  const depthOf = (n: string): number => {
    const known = depth.get(n)
    if (known !== undefined) return known
    // A cycle or a missing task cannot come from a checked spec; drawn flat rather than looping.
    if (visiting.has(n)) return 0
    visiting.add(n)
    const before = (tasks[n]?.requires ?? []).filter((r) => r in tasks)
    const d = before.length === 0 ? 0 : 1 + Math.max(...before.map(depthOf))
    visiting.delete(n)
    depth.set(n, d)
    return d
  }
  const rowsIn = new Map<number, number>()
  const nodes = names.map((name) => {
    const column = depthOf(name)
    const row = rowsIn.get(column) ?? 0
    rowsIn.set(column, row + 1)
    return { name, column, row }
  })
  const edges = names.flatMap((to) => (tasks[to].requires ?? []).filter((from) => from in tasks).map((from) => ({ from, to })))
  return { nodes, edges, columns: Math.max(0, ...nodes.map((n) => n.column + 1)), rows: Math.max(0, ...rowsIn.values()) }
}
