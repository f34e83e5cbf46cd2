// Expressions and templates. Expressions are JSONata (no code execution), evaluated in the expression
// sandbox (workflows/sandbox/): a worker thread with a hard time and memory limit. A template is any
// JSON value: a string that is exactly `{{ expr }}` yields the expression's value (any type);
// `{{ expr }}` inside a longer string is interpolated; objects and arrays are templated recursively;
// everything else is literal.
import jsonata from 'jsonata'
import { WorkflowError } from './errors.js'
import { sandbox } from './sandbox/sandbox.js'

const MARK = /\{\{([\s\S]*?)\}\}/g
const WHOLE = /^\s*\{\{([\s\S]*?)\}\}\s*$/

const cache = new Map<string, jsonata.Expression>()

/** Compiles (once) a JSONata expression; throws KILN_ERR_EXPRESSION with the parser's message. */
export function compileExpression(source: string): jsonata.Expression {
  let expr = cache.get(source)
  if (!expr) {
    try {
      expr = jsonata(source) // no limits of its own: time and memory are the sandbox's
    } catch (err) {
      const e = err as { message?: string; position?: number }
      throw new WorkflowError('KILN_ERR_EXPRESSION', `invalid expression "${source.trim()}": ${e.message}${e.position !== undefined ? ` (at ${e.position})` : ''}`)
    }
    if (cache.size > 10_000) cache.clear()
    cache.set(source, expr)
  }
  return expr
}

/** The expressions inside a template, in order. */
export function templateExpressions(template: unknown): string[] {
  const out: string[] = []
  const walk = (v: unknown) => {
    if (typeof v === 'string') for (const m of v.matchAll(MARK)) out.push(m[1]!)
    else if (Array.isArray(v)) v.forEach(walk)
    else if (v && typeof v === 'object') Object.values(v).forEach(walk)
  }
  walk(template)
  return out
}

/**
 * A condition or item list: a template string (`{{ expr }}`) or a bare expression without braces.
 * Returns the expression sources to check.
 */
export function conditionExpressions(value: string): string[] {
  return value.includes('{{') ? templateExpressions(value) : [value]
}

export async function evaluateExpression(source: string, context: unknown): Promise<unknown> {
  const expr = compileExpression(source)
  let value: unknown
  try {
    value = await expr.evaluate(context)
  } catch (err) {
    throw new WorkflowError('KILN_ERR_EXPRESSION', `expression "${source.trim()}" failed: ${(err as Error).message}`)
  }
  return plain(value)
}

/** Evaluates a condition or item list (see conditionExpressions) in the expression sandbox. */
export function evaluateCondition(value: string, context: unknown): Promise<unknown> {
  return sandbox().condition(value, context)
}

/** Evaluates a template in the expression sandbox (a worker thread with a hard time and memory limit); literals stay here. */
export function evaluateTemplate(template: unknown, context: unknown): Promise<unknown> {
  if (!hasExpressions(template)) return Promise.resolve(template)
  return sandbox().template(template, context)
}

/** True when a template holds at least one `{{ }}` (else it is its own value). */
function hasExpressions(template: unknown): boolean {
  if (typeof template === 'string') return template.includes('{{')
  if (Array.isArray(template)) return template.some(hasExpressions)
  if (template && typeof template === 'object') return Object.values(template).some(hasExpressions)
  return false
}

/** Evaluates a condition on this thread: only the sandbox worker calls it. */
export function evaluateConditionHere(value: string, context: unknown): Promise<unknown> {
  return value.includes('{{') ? evaluateTemplateHere(value, context) : evaluateExpression(value, context)
}

/** Evaluates a template on this thread: only the sandbox worker calls it. */
export async function evaluateTemplateHere(template: unknown, context: unknown): Promise<unknown> {
  if (typeof template === 'string') {
    if (!template.includes('{{')) return template
    const whole = WHOLE.exec(template)
    if (whole && whole[1]!.indexOf('{{') === -1 && !whole[1]!.includes('}}')) return evaluateExpression(whole[1]!, context)
    let out = ''
    let last = 0
    for (const m of template.matchAll(MARK)) {
      out += template.slice(last, m.index) + text(await evaluateExpression(m[1]!, context))
      last = m.index! + m[0].length
    }
    return out + template.slice(last)
  }
  if (Array.isArray(template)) {
    const out: unknown[] = []
    for (const item of template) out.push(await evaluateTemplateHere(item, context))
    return out
  }
  if (template && typeof template === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(template)) {
      const value = await evaluateTemplateHere(v, context)
      if (value !== undefined) out[k] = value
    }
    return out
  }
  return template
}

/** JSONata truthiness, simplified: false for undefined, null, false, 0, "", and empty arrays. */
export function truthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(truthy)
  return Boolean(value)
}

/** Names of tasks an expression reads as `$.tasks.NAME`, `$$.tasks.NAME` or `tasks.NAME`. */
export function taskReferences(source: string): string[] {
  const refs = new Set<string>()
  const walk = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(walk)
    if (!node || typeof node !== 'object') return
    const n = node as { type?: string; steps?: Array<{ type: string; value: unknown }> }
    if (n.type === 'path' && Array.isArray(n.steps)) {
      let i = 0
      const first = n.steps[0]
      if (first?.type === 'variable' && (first.value === '' || first.value === '$')) i = 1
      if (n.steps[i]?.type === 'name' && n.steps[i]!.value === 'tasks' && n.steps[i + 1]?.type === 'name') refs.add(String(n.steps[i + 1]!.value))
    }
    for (const v of Object.values(node)) if (v && typeof v === 'object') walk(v)
  }
  walk(compileExpression(source).ast())
  return [...refs]
}

function text(value: unknown): string {
  if (value === undefined || value === null) return ''
  return typeof value === 'string' ? value : JSON.stringify(value)
}

/** JSONata sequences carry extra properties and may hold functions: keep plain JSON only. */
function plain(value: unknown): unknown {
  if (value === undefined || value === null || typeof value !== 'object') return typeof value === 'function' ? undefined : value
  return JSON.parse(JSON.stringify(value))
}
