// What the platform asks of the expression sandbox, and what comes back (structured-cloned both ways).

/** JSONata: a Kiln template (`{{ expr }}` strings in any JSON value) against a context. */
export interface TemplateJob {
  kind: 'template'
  template: unknown
  context: unknown
}

/** JSONata: a condition or item list (a template string or a bare expression). */
export interface ConditionJob {
  kind: 'condition'
  value: string
  context: unknown
}

/**
 * JavaScript (QuickJS): Fission Workflows expressions, each a `{ ... }` string run as a script whose
 * completion value is the result, with `$`, `taskId` and the helpers param/input/output/task/uid.
 * An expression with `key` is a task's whole input of that name: once evaluated, later expressions see
 * it in `task().Inputs[key]`.
 */
export interface ScriptJob {
  kind: 'scripts'
  scope: unknown
  taskId: string
  scripts: Array<{ source: string; key?: string }>
  /** extra globals (the `javascript` function's args) */
  globals?: Record<string, unknown>
  timeMs: number
  memoryBytes: number
}

/** JavaScript (QuickJS): parse only; for deploy-time checks. */
export interface CompileJob {
  kind: 'compile'
  sources: string[]
}

export type SandboxJob = TemplateJob | ConditionJob | ScriptJob | CompileJob

export type SandboxAnswer =
  | { ok: true; value: unknown }
  /** index: which script of a ScriptJob (or source of a CompileJob) failed */
  | { ok: false; code: 'KILN_ERR_EXPRESSION' | 'KILN_ERR_EXPRESSION_LIMIT'; message: string; index?: number }
