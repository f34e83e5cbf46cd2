// parseWorkflow and validateWorkflow: structure, references, cycles, expressions, functions and workflows.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parseWorkflow } from '../../../workflows/spec.js'
import { validateWorkflow, type WorkflowResolver } from '../../../workflows/validate.js'

const resolve: WorkflowResolver = {
  functionExists: (n) => ['validate-order', 'price', 'stock', 'manual-review', 'auto-approve', 'notify', 'f'].includes(n),
  workflowExists: async (n) => n === 'other',
}

async function issue(yaml: string): Promise<{ code: string; message: string; issues: Array<{ field: string }> }> {
  try {
    await validateWorkflow(yaml, resolve)
  } catch (err) {
    return err as never
  }
  throw new Error('expected a validation error')
}

describe('parseWorkflow', () => {
  it('parses YAML and JSON alike and normalizes durations and retry shorthand', () => {
    const yaml = parseWorkflow(`name: w
tasks:
  a: {function: f, timeout: 1m30s, retry: 3}
  b: {sleep: 250ms, requires: [a]}`)
    expect(yaml.tasks.a).toEqual({ function: 'f', timeout: 90_000, retry: { attempts: 3, backoff: { initial: 100, factor: 2, max: 10_000 } } })
    expect(yaml.tasks.b).toEqual({ sleep: 250, requires: ['a'] })
    const json = parseWorkflow(JSON.stringify({ name: 'w', tasks: { a: { function: 'f', timeout: 90000, retry: 3 }, b: { sleep: 250, requires: ['a'] } } }))
    expect(json).toEqual(yaml)
    expect(parseWorkflow(yaml)).toEqual(yaml) // idempotent
  })

  it('names the task and field of structural errors', () => {
    const bad = () =>
      parseWorkflow(`name: w
tasks:
  a: {function: f, requries: [b]}
  b: {function: f, sleep: 1s}
  c: {foreach: "{{ $.input }}"}
  d: {function: f, retry: {attempts: 0, on: [true]}, timeout: soon}
  e: {switch: [{else: {function: f}}, {if: "{{ true }}", then: {function: f}}]}`)
    expect(bad).toThrow(/tasks\.a\.requries: unknown field/)
    expect(bad).toThrow(/tasks\.b: has more than one kind \(function, sleep\)/)
    expect(bad).toThrow(/tasks\.c\.do: required/)
    expect(bad).toThrow(/tasks\.d\.retry\.attempts: must be an integer/)
    expect(bad).toThrow(/tasks\.d\.retry\.on: must list/)
    expect(bad).toThrow(/tasks\.d\.timeout: must be a positive duration/)
    expect(bad).toThrow(/tasks\.e\.switch\[0\]: else must be the last case/)
    try {
      bad()
    } catch (err) {
      expect((err as { code: string }).code).toBe('KILN_ERR_VALIDATION')
    }
  })

  it('rejects text that is not YAML, and a spec without tasks', () => {
    expect(() => parseWorkflow('name: [')).toThrow(/spec: not valid YAML or JSON/)
    expect(() => parseWorkflow('name: w')).toThrow(/tasks: required/)
  })
})

describe('validateWorkflow', () => {
  it('accepts the example order workflow', async () => {
    const spec = await validateWorkflow(readFileSync(new URL('../../../examples/workflows/order.yaml', import.meta.url), 'utf8'), resolve)
    expect(Object.keys(spec.tasks)).toEqual(['validate', 'price', 'stock', 'route', 'notify'])
  })

  it('rejects an unknown task in requires', async () => {
    const err = await issue(`name: w
tasks:
  validate: {function: f}
  price: {function: f, requires: [valdate]}`)
    expect(err.code).toBe('KILN_ERR_VALIDATION')
    expect(err.message).toContain('tasks.price.requires: unknown task "valdate"')
  })

  it('rejects an unknown task read by an expression', async () => {
    const err = await issue(`name: w
tasks:
  a: {function: f, input: {x: "{{ $.tasks.nope.output }}"}}`)
    expect(err.message).toContain('tasks.a.input: unknown task "nope"')
  })

  it('rejects a cycle, also one closed through an expression reference', async () => {
    const err = await issue(`name: w
tasks:
  a: {function: f, requires: [c]}
  b: {function: f, requires: [a]}
  c: {function: f, input: "{{ $.tasks.b.output }}"}`)
    expect(err.message).toMatch(/tasks\.\w\.requires: cycle (a → c → b → a|b → a → c → b|c → b → a → c)/)
  })

  it('rejects unknown functions and workflows, nested ones included', async () => {
    const err = await issue(`name: w
tasks:
  a: {function: prise}
  b: {workflow: missing}
  c: {workflow: other, catch: {function: gone}}
  d: {foreach: [1], do: {switch: [{if: "{{ true }}", then: {function: nope}}]}}`)
    expect(err.message).toContain('tasks.a.function: unknown function "prise"')
    expect(err.message).toContain('tasks.b.workflow: unknown workflow "missing"')
    expect(err.message).toContain('tasks.c.catch.function: unknown function "gone"')
    expect(err.message).toContain('tasks.d.do.switch[0].then.function: unknown function "nope"')
    expect(err.issues.map((i) => i.field)).toEqual(['tasks.a.function', 'tasks.b.workflow', 'tasks.c.catch.function', 'tasks.d.do.switch[0].then.function'])
  })

  it('rejects a bad expression, naming the field', async () => {
    const err = await issue(`name: w
tasks:
  a: {function: f, input: "{{ $.input + }}"}
  b: {switch: [{if: "{{ ) }}", then: {function: f}}]}
output: "{{ [ }}"`)
    expect(err.message).toMatch(/tasks\.a\.input: invalid expression "\$\.input \+"/)
    expect(err.message).toMatch(/tasks\.b\.switch\[0\]\.if: invalid expression/)
    expect(err.message).toMatch(/output: invalid expression/)
  })

  it('rejects an invalid input schema and a task that requires itself', async () => {
    const err = await issue(`name: w
input: {type: notatype}
tasks:
  a: {function: f, requires: [a]}`)
    expect(err.message).toContain('input: invalid JSON schema')
    expect(err.message).toContain('tasks.a.requires: a task cannot require itself')
  })
})
