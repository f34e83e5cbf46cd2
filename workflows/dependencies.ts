// The task graph: a task depends on the tasks it `requires` and on every task its expressions read
// (`$.tasks.NAME`), so a reference alone orders tasks.
import { conditionExpressions, taskReferences, templateExpressions } from './expressions.js'
import type { StepSpec, WorkflowSpec } from './spec.js'

/** Every expression of a step (and its nested steps), with the field it sits in. */
export function stepExpressions(step: StepSpec, field: string): Array<{ field: string; source: string }> {
  const out: Array<{ field: string; source: string }> = []
  const add = (f: string, sources: string[]) => sources.forEach((source) => out.push({ field: f, source }))
  if (step.input !== undefined) add(`${field}.input`, templateExpressions(step.input))
  if (typeof step.foreach === 'string') add(`${field}.foreach`, conditionExpressions(step.foreach))
  else if (Array.isArray(step.foreach)) add(`${field}.foreach`, templateExpressions(step.foreach))
  if (step.do) out.push(...stepExpressions(step.do, `${field}.do`))
  step.switch?.forEach((c, i) => {
    if (c.if !== undefined) add(`${field}.switch[${i}].if`, conditionExpressions(c.if))
    if (c.then) out.push(...stepExpressions(c.then, `${field}.switch[${i}].then`))
    if (c.else) out.push(...stepExpressions(c.else, `${field}.switch[${i}].else`))
  })
  if (step.catch) out.push(...stepExpressions(step.catch, `${field}.catch`))
  return out
}

/** Each task's dependencies: `requires` plus the tasks its expressions read. Assumes valid expressions. */
export function taskDependencies(spec: WorkflowSpec): Map<string, Set<string>> {
  const deps = new Map<string, Set<string>>()
  for (const [name, task] of Object.entries(spec.tasks)) {
    const set = new Set(task.requires ?? [])
    for (const { source } of stepExpressions(task, `tasks.${name}`)) {
      for (const ref of referencesOf(source)) if (ref !== name && spec.tasks[ref]) set.add(ref)
    }
    deps.set(name, set)
  }
  return deps
}

function referencesOf(source: string): string[] {
  try {
    return taskReferences(source)
  } catch {
    return []
  }
}

/** A cycle in the graph as a list of task names (first repeated last), or undefined. */
export function findCycle(deps: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>()
  const stack: string[] = []
  const visit = (name: string): string[] | undefined => {
    const s = state.get(name)
    if (s === 'done') return undefined
    if (s === 'visiting') return [...stack.slice(stack.indexOf(name)), name]
    state.set(name, 'visiting')
    stack.push(name)
    for (const dep of deps.get(name) ?? []) {
      const cycle = visit(dep)
      if (cycle) return cycle
    }
    stack.pop()
    state.set(name, 'done')
    return undefined
  }
  for (const name of deps.keys()) {
    const cycle = visit(name)
    if (cycle) return cycle
  }
  return undefined
}
