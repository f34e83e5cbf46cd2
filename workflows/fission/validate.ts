// Deploy-time checks of a Fission Workflows document beyond its structure: every `run` names an
// internal function, a deployed function (or, without `fission://`, a deployed workflow), and every
// `{ }` expression parses as JavaScript (checked in the sandbox's engine, not run).
import type { ValidationIssue } from '../errors.js'
import { sandbox } from '../sandbox/sandbox.js'
import type { WorkflowSpec } from '../spec.js'
import type { WorkflowResolver } from '../validate.js'
import { externalReferences, taskScripts } from './run-task.js'

export async function validateFissionTasks(spec: WorkflowSpec, resolve: WorkflowResolver): Promise<ValidationIssue[]> {
  const issues: ValidationIssue[] = []
  const refs: Array<{ field: string; name: string; strict: boolean }> = []
  const scripts: Array<{ field: string; source: string }> = []
  for (const [name, t] of Object.entries(spec.tasks)) {
    if (!t.fission) continue
    externalReferences(t.fission, `tasks.${name}`, refs)
    taskScripts(t.fission, `tasks.${name}`, scripts)
  }
  for (const r of refs) {
    if (await resolve.functionExists(r.name)) continue
    if (!r.strict && (await resolve.workflowExists(r.name))) continue
    issues.push({ field: r.field, message: r.strict ? `unknown function "${r.name}"` : `unknown function or workflow "${r.name}" (internal functions: noop, compose, if, switch, foreach, repeat, while, sleep, javascript, fail, http)` })
  }
  // one sandbox call per bad script at most: compile reports the first that does not parse
  let from = 0
  while (from < scripts.length) {
    const bad = await sandbox().compile(scripts.slice(from).map((s) => s.source))
    if (!bad) break
    const s = scripts[from + bad.index]!
    issues.push({ field: s.field, message: `invalid expression ${s.source.trim().slice(0, 80)}: ${bad.message}` })
    from += bad.index + 1
  }
  return issues
}
