// Validation of resources against their schemas; the first error names the bad field
// (`spec.timeoutMs: must be >= 1`), which is what the CLI prints and tests assert on by code.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import { KilnError } from './errors.js'
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

export function validateResource<T extends Resource>(kind: Kind, value: unknown): T {
  const check = validators[kind]
  if (!check) throw new KilnError('KILN_ERR_INTERNAL', `no schema for ${kind}`)
  if (!check(value)) {
    const err = check.errors?.[0]
    throw new KilnError('KILN_ERR_VALIDATION', `${kind}: ${err ? describeError(err) : 'invalid'}`)
  }
  return value as T
}
