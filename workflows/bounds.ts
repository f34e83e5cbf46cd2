// The bounds of a workflow spec, checked before anything walks it recursively (parsing, validation,
// dependency analysis): a spec deeper or larger than these is refused with KILN_ERR_WORKFLOW_TOO_LARGE
// (400) instead of overflowing the stack (a 3,000-deep spec used to answer 500).
import { KilnError } from '../core/errors.js'

export const WORKFLOW_BOUNDS = {
  /** top-level tasks */
  tasks: 1000,
  /** nesting of objects and arrays anywhere in the document (steps, inputs, templates) */
  depth: 64,
  /** values in the whole document */
  values: 200_000,
} as const

/** Throws KILN_ERR_WORKFLOW_TOO_LARGE naming the first bound the document breaks. Iterative: any depth is safe to check. */
export function checkWorkflowBounds(doc: unknown): void {
  const tooLarge = (message: string) => new KilnError('KILN_ERR_WORKFLOW_TOO_LARGE', message, { bounds: WORKFLOW_BOUNDS })
  if (doc && typeof doc === 'object' && !Array.isArray(doc)) {
    const tasks = (doc as { tasks?: unknown }).tasks
    if (tasks && typeof tasks === 'object') {
      const n = Object.keys(tasks).length
      if (n > WORKFLOW_BOUNDS.tasks) throw tooLarge(`tasks: ${n} tasks, at most ${WORKFLOW_BOUNDS.tasks}`)
    }
  }
  const stack: Array<{ v: unknown; depth: number; path: string }> = [{ v: doc, depth: 0, path: '' }]
  let values = 0
  while (stack.length > 0) {
    const { v, depth, path } = stack.pop()!
    if (++values > WORKFLOW_BOUNDS.values) throw tooLarge(`the spec holds more than ${WORKFLOW_BOUNDS.values} values`)
    if (!v || typeof v !== 'object') continue
    if (depth >= WORKFLOW_BOUNDS.depth) throw tooLarge(`${path.slice(0, 200) || 'spec'}${path.length > 200 ? '…' : ''}: nested deeper than ${WORKFLOW_BOUNDS.depth} levels`)
    if (Array.isArray(v)) v.forEach((item, i) => stack.push({ v: item, depth: depth + 1, path: `${path}[${i}]` }))
    else for (const [k, item] of Object.entries(v)) stack.push({ v: item, depth: depth + 1, path: path ? `${path}.${k}` : k })
  }
}
