// Fission Workflows' expressions: any input string wrapped in `{ ... }` is JavaScript, run as a script
// (the braces are a block, its completion value the result: what their Otto-based resolver does), in
// the expression sandbox. Nested tasks and workflows inside inputs are not evaluated here: they are run
// (and their own inputs resolved) when an internal function chooses them.
import { looksLikeTask, looksLikeWorkflow } from './spec.js'

export function isExpression(v: unknown): v is string {
  if (typeof v !== 'string') return false
  const t = v.trim()
  return t.length >= 2 && t.startsWith('{') && t.endsWith('}')
}

/**
 * The nested tasks and workflows of a spec, by identity. Values computed at run time (expression
 * results, a caller's body, a function's answer) are never in it, so data shaped like a task is never
 * run as one: only what the workflow's author wrote is.
 */
const specNodes = new WeakSet<object>()

export function isSpecNode(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && specNodes.has(v)
}

/** A place in a task's inputs: the top-level key and the path below it. */
export interface Site {
  key: string
  at: Array<string | number>
  source: string
}

/**
 * Walks a task's inputs as the spec has them: registers nested tasks/workflows, and lists each
 * expression with where it sits. `skip` names inputs that are not resolved up front (while's `expr`).
 */
export function scanInputs(inputs: Record<string, unknown>, skip: ReadonlySet<string> = new Set()): Site[] {
  const sites: Site[] = []
  const walk = (v: unknown, key: string, at: Array<string | number>) => {
    if (isExpression(v)) sites.push({ key, at, source: v })
    else if (looksLikeTask(v) || looksLikeWorkflow(v)) specNodes.add(v)
    else if (Array.isArray(v)) v.forEach((item, i) => walk(item, key, [...at, i]))
    else if (v && typeof v === 'object') for (const [k, item] of Object.entries(v)) walk(item, key, [...at, k])
  }
  for (const [key, v] of Object.entries(inputs)) if (!skip.has(key)) walk(v, key, [])
  return sites
}

/** The inputs with each expression replaced by its value (literal parts copied, nested tasks kept by identity). */
export function assembleInputs(inputs: Record<string, unknown>, sites: Site[], values: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = { ...inputs }
  sites.forEach((site, i) => {
    if (site.at.length === 0) {
      out[site.key] = values[i]
      return
    }
    // copy the containers on the way down, so the spec is never changed
    out[site.key] = copyContainer(out[site.key], inputs[site.key])
    let node = out[site.key] as Record<string | number, unknown>
    for (let d = 0; d < site.at.length - 1; d++) {
      const k = site.at[d]!
      node[k] = copyContainer(node[k], undefined)
      node = node[k] as Record<string | number, unknown>
    }
    node[site.at[site.at.length - 1]!] = values[i]
  })
  return out
}

const copies = new WeakSet<object>()
function copyContainer(v: unknown, _orig: unknown): unknown {
  if (!v || typeof v !== 'object' || copies.has(v) || specNodes.has(v)) return v
  const c = Array.isArray(v) ? [...v] : { ...(v as object) }
  copies.add(c)
  return c
}
