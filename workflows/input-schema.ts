// The workflow's optional input schema (JSON schema, checked with ajv), compiled once per schema.
import { Ajv, type ValidateFunction } from 'ajv'
import { WorkflowError } from './errors.js'
import type { WorkflowSpec } from './spec.js'

const ajv = new Ajv({ allErrors: true, strict: false })
const compiled = new WeakMap<object, ValidateFunction>()

/** Compiles the schema; throws ajv's error for an invalid schema. */
export function compileInputSchema(schema: NonNullable<WorkflowSpec['input']>): ValidateFunction {
  if (typeof schema === 'boolean') return ajv.compile(schema)
  let fn = compiled.get(schema)
  if (!fn) {
    fn = ajv.compile(schema)
    compiled.set(schema, fn)
  }
  return fn
}

/** Throws KILN_ERR_WORKFLOW_INPUT when the input does not match the workflow's schema. */
export function checkInput(spec: WorkflowSpec, input: unknown): void {
  if (spec.input === undefined) return
  const validate = compileInputSchema(spec.input)
  if (!validate(input)) {
    const detail = ajv.errorsText(validate.errors, { dataVar: 'input' })
    throw new WorkflowError('KILN_ERR_WORKFLOW_INPUT', `workflow "${spec.name}": ${detail}`)
  }
}
