// Deploy-time validation: references, expressions, the DAG, functions and nested workflows.
import { findCycle, stepExpressions, taskDependencies } from './dependencies.js'
import { WorkflowValidationError, type ValidationIssue } from './errors.js'
import { compileExpression, taskReferences, templateExpressions } from './expressions.js'
import { compileInputSchema } from './input-schema.js'
import { validateFissionTasks } from './fission/validate.js'
import { parseWorkflow, type StepSpec, type WorkflowSpec } from './spec.js'

export interface WorkflowResolver {
  functionExists(name: string): boolean | Promise<boolean>
  workflowExists(name: string): boolean | Promise<boolean>
}

/**
 * Checks a workflow before it is deployed: unknown task references (in `requires` and in expressions),
 * cycles, invalid expressions, unknown functions and workflows, an invalid input schema.
 * Throws WorkflowValidationError (code KILN_ERR_VALIDATION) whose message names every bad task and field,
 * e.g. `tasks.price.requires: unknown task "valdate"`. Returns the normalized spec.
 */
export async function validateWorkflow(source: WorkflowSpec | string | object, resolve: WorkflowResolver): Promise<WorkflowSpec> {
  const spec = parseWorkflow(source)
  const issues: ValidationIssue[] = []
  const bad = (field: string, message: string) => issues.push({ field, message })
  const names = Object.keys(spec.tasks)
  let expressionsOk = true

  const checkExpressions = (list: Array<{ field: string; source: string }>, self?: string) => {
    for (const { field, source } of list) {
      try {
        compileExpression(source)
      } catch (err) {
        expressionsOk = false
        bad(field, (err as Error).message)
        continue
      }
      for (const ref of taskReferences(source)) {
        if (!spec.tasks[ref]) bad(field, `unknown task "${ref}" in expression "${source.trim()}"`)
        else if (ref === self) bad(field, `task "${ref}" reads its own output`)
      }
    }
  }

  for (const name of names) {
    const task = spec.tasks[name]!
    for (const r of task.requires ?? []) {
      if (r === name) bad(`tasks.${name}.requires`, 'a task cannot require itself')
      else if (!spec.tasks[r]) bad(`tasks.${name}.requires`, `unknown task "${r}"`)
    }
    checkExpressions(stepExpressions(task, `tasks.${name}`), name)
  }
  if (spec.output !== undefined) checkExpressions(templateExpressions(spec.output).map((source) => ({ field: 'output', source })))

  if (expressionsOk && !issues.some((i) => i.message.startsWith('unknown task') || i.message.includes('require itself'))) {
    const cycle = findCycle(taskDependencies(spec))
    if (cycle) bad(`tasks.${cycle[0]}.requires`, `cycle ${cycle.join(' → ')} (through requires or $.tasks references)`)
  }

  if (spec.input !== undefined) {
    try {
      compileInputSchema(spec.input)
    } catch (err) {
      bad('input', `invalid JSON schema: ${(err as Error).message}`)
    }
  }

  const refs: Array<{ field: string; kind: 'function' | 'workflow'; name: string }> = []
  const collect = (step: StepSpec, field: string) => {
    if (step.function !== undefined) refs.push({ field: `${field}.function`, kind: 'function', name: step.function })
    if (step.workflow !== undefined) refs.push({ field: `${field}.workflow`, kind: 'workflow', name: step.workflow })
    if (step.do) collect(step.do, `${field}.do`)
    step.switch?.forEach((c, i) => {
      if (c.then) collect(c.then, `${field}.switch[${i}].then`)
      if (c.else) collect(c.else, `${field}.switch[${i}].else`)
    })
    if (step.catch) collect(step.catch, `${field}.catch`)
  }
  for (const name of names) collect(spec.tasks[name]!, `tasks.${name}`)
  const exists = await Promise.all(refs.map((r) => (r.kind === 'function' ? resolve.functionExists(r.name) : resolve.workflowExists(r.name))))
  refs.forEach((r, i) => {
    if (!exists[i]) bad(r.field, `unknown ${r.kind} "${r.name}"`)
  })
  if (spec.format === 'fission') issues.push(...(await validateFissionTasks(spec, resolve)))

  if (issues.length) throw new WorkflowValidationError(issues)
  return spec
}
