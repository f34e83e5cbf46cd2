// Validation of resources against their schemas; the first error names the bad field
// (`spec.timeoutMs: must be >= 1`), which is what the CLI prints and tests assert on by code.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import { KilnError } from './errors.js'
import { checkFunctionEnv, checkSecretEnvNames } from './function-env.js'
import { CronTriggerResource, FunctionResource, HTTPTriggerResource, NamespaceResource, QueueTriggerResource, RuntimeResource, type Kind, type Resource } from './types.js'

const ajv = new Ajv({ allErrors: false, strict: false, verbose: true })

const validators: Partial<Record<Kind, ValidateFunction>> = {
  Function: ajv.compile(FunctionResource),
  Runtime: ajv.compile(RuntimeResource),
  HTTPTrigger: ajv.compile(HTTPTriggerResource),
  Namespace: ajv.compile(NamespaceResource),
  CronTrigger: ajv.compile(CronTriggerResource),
  QueueTrigger: ajv.compile(QueueTriggerResource),
}

export function describeError(e: ErrorObject): string {
  const field = e.instancePath.slice(1).replaceAll('/', '.')
  if (e.keyword === 'additionalProperties') {
    const extra = String((e.params as { additionalProperty: string }).additionalProperty)
    return `${field ? field + '.' : ''}${extra}: unknown field`
  }
  if (e.keyword === 'required') {
    const missing = String((e.params as { missingProperty: string }).missingProperty)
    return `${field ? field + '.' : ''}${missing}: is required`
  }
  if (e.keyword === 'pattern' && e.parentSchema && typeof e.parentSchema === 'object' && 'description' in e.parentSchema) {
    return `${field || '(root)'}: must be ${String(e.parentSchema.description)}`
  }
  return `${field || '(root)'}: ${e.message ?? 'is invalid'}`
}

/** One branch of a union as the user reads it: a literal value, or the kind of value with its bounds. */
function describeBranch(s: unknown): string {
  const b = (s ?? {}) as { const?: unknown; type?: string; minimum?: number; maximum?: number; enum?: unknown[] }
  if (b.const !== undefined) return String(b.const)
  if (b.enum) return b.enum.map(String).join(', ')
  const bounds = b.minimum !== undefined && b.maximum !== undefined ? ` ${b.minimum}-${b.maximum}` : b.minimum !== undefined ? ` >= ${b.minimum}` : ''
  if (b.type === 'integer') return `a whole number${bounds}`
  if (b.type === 'number') return `a number${bounds}`
  return b.type ? `a ${b.type}` : 'another value'
}

/**
 * The first error of a failed check, as a line naming the field. A value outside a set of allowed ones
 * (a union of literals, an enum) lists them, with what was given: `spec.strategy: must be one of pool,
 * warm, dedicated (got "warmm")`.
 */
export function describeErrors(errors: ErrorObject[] | null | undefined): string {
  const first = errors?.[0]
  if (!first) return 'invalid'
  // A union fails branch by branch; its own `anyOf` error, at the same field, says what each branch takes.
  const union = errors!.find((e) => (e.keyword === 'anyOf' || e.keyword === 'enum') && e.instancePath === first.instancePath)
  if (union) {
    const field = union.instancePath.slice(1).replaceAll('/', '.') || '(root)'
    const allowed = union.keyword === 'enum'
      ? ((union.params as { allowedValues?: unknown[] }).allowedValues ?? []).map(String)
      : (Array.isArray(union.schema) ? union.schema : []).map(describeBranch)
    return `${field}: must be one of ${allowed.join(', ')} (got ${JSON.stringify(union.data)})`
  }
  return describeError(first)
}

export function validateResource<T extends Resource>(kind: Kind, value: unknown): T {
  const check = validators[kind]
  if (!check) throw new KilnError('KILN_ERR_INTERNAL', `no schema for ${kind}`)
  if (!check(value)) throw new KilnError('KILN_ERR_VALIDATION', `${kind}: ${describeErrors(check.errors)}`)
  // What a schema cannot say: reserved names and sizes summed over the map.
  if (kind === 'Function') {
    const spec = (value as { spec: { env?: Record<string, unknown>; secretEnv?: { env: string }[] } }).spec
    checkFunctionEnv(spec.env)
    checkSecretEnvNames(spec.secretEnv)
  }
  return value as T
}

const compiled = new WeakMap<object, ValidateFunction>()

/** A value against any schema of core/types.ts; the error names `what` and the bad field. */
export function validateValue<T>(schema: object, value: unknown, what: string): T {
  let check = compiled.get(schema)
  if (!check) compiled.set(schema, check = ajv.compile(schema))
  if (!check(value)) {
    const err = check.errors?.[0]
    throw new KilnError('KILN_ERR_VALIDATION', `${what}: ${err ? describeError(err) : 'invalid'}`)
  }
  return value as T
}
