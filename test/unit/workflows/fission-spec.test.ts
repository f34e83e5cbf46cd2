// Fission Workflows documents as their parser reads them (pkg/parse/yaml/parser_test.go), the shape
// detection, Go durations, and the bounds every workflow spec is held to.
import { describe, expect, it } from 'vitest'
import { checkWorkflowBounds, WORKFLOW_BOUNDS } from '../../../workflows/bounds.js'
import { parseGoDuration } from '../../../workflows/fission/go-duration.js'
import { isFissionDocument } from '../../../workflows/fission/spec.js'
import { parseWorkflow } from '../../../workflows/spec.js'

const codeOf = (fn: () => unknown) => {
  try {
    fn()
    return 'ok'
  } catch (e) {
    return (e as { code?: string }).code
  }
}

describe('Fission Workflows documents', () => {
  it('is recognized by apiVersion, format: fission, or a task with run/inputs or null; Kiln documents are not', () => {
    expect(isFissionDocument({ apiVersion: 1, tasks: {} })).toBe(true)
    expect(isFissionDocument({ format: 'fission', tasks: { a: {} } })).toBe(true)
    expect(isFissionDocument({ tasks: { a: { run: 'noop' } } })).toBe(true)
    expect(isFissionDocument({ tasks: { a: { inputs: 1 } } })).toBe(true)
    expect(isFissionDocument({ tasks: { nothing: null } })).toBe(true)
    expect(isFissionDocument({ name: 'k', tasks: { a: { function: 'f', input: 1 } } })).toBe(false)
  })

  it('parses like their parser: run defaults to noop, null tasks are dropped, a map names the inputs, anything else is `default`', () => {
    const spec = parseWorkflow(`name: simple
apiversion: 123
output: foo
tasks:
  nothing: ~
  foo:
    run: someSh
    requires: [bar]
  bar:
    inputs: "{ param() }"
  acme:
    run: abc
    inputs:
      default: {a: b}
      cases: [{case: a, value: b}]
`)
    expect(spec.format).toBe('fission')
    expect(Object.keys(spec.tasks).sort()).toEqual(['acme', 'bar', 'foo'])
    expect(spec.tasks.foo).toEqual({ fission: { run: 'someSh', inputs: {} }, requires: ['bar'] })
    expect(spec.tasks.bar!.fission).toEqual({ run: 'noop', inputs: { default: '{ param() }' } })
    expect(spec.tasks.acme!.fission!.inputs).toEqual({ default: { a: 'b' }, cases: [{ case: 'a', value: 'b' }] })
    expect(spec.output).toBe('{{ $.tasks.`foo`.output }}')
    // parsing the parsed spec again gives the same spec (the engine re-reads stored specs)
    expect(parseWorkflow(JSON.parse(JSON.stringify(spec)))).toEqual(spec)
  })

  it('nested tasks and workflows in inputs are normalized (their TestParseDynamicWorkflow)', () => {
    const spec = parseWorkflow({
      name: 'dyn', apiVersion: 1, tasks: {
        bar: { run: 'bla', inputs: { default: { apiVersion: 'v42', output: 'inner', tasks: { inner: { run: 'dynamic', inputs: 'foobar' } } } } },
        iff: { run: 'if', inputs: { if: true, then: { run: 'noop', inputs: 'x' } } },
      },
    })
    expect(spec.tasks.bar!.fission!.inputs.default).toEqual({ tasks: { inner: { run: 'dynamic', inputs: { default: 'foobar' } } }, output: 'inner' })
    expect(spec.tasks.iff!.fission!.inputs.then).toEqual({ run: 'noop', inputs: { default: 'x' } })
  })

  it('names every bad field with KILN_ERR_VALIDATION', () => {
    const err = (doc: unknown) => {
      try {
        parseWorkflow(doc as object)
      } catch (e) {
        return e as { code: string; message: string }
      }
      throw new Error('parsed')
    }
    expect(err({ name: 'x', apiVersion: 1, output: 'nope', tasks: { a: { run: 'noop' } } }).message).toMatch(/output: must name/)
    expect(err({ name: 'x', apiVersion: 1, tasks: { a: { run: 'noop', inptus: 1 } } }).message).toMatch(/tasks\.a\.inptus: unknown field/)
    expect(err({ name: 'x', apiVersion: 1, tasks: { a: { run: 5 } } }).message).toMatch(/tasks\.a\.run/)
    expect(err({ apiVersion: 1, tasks: { a: { run: 'noop' } } }).message).toMatch(/^name:/)
    expect(err({ name: 'x', apiVersion: 1, tasks: { 'a.b': { run: 'noop' } } }).code).toBe('KILN_ERR_VALIDATION')
  })
})

describe('Go durations (sleep, while delay)', () => {
  it('reads what time.ParseDuration reads, in milliseconds', () => {
    expect(parseGoDuration('300ms')).toBe(300)
    expect(parseGoDuration('2h45m')).toBe(2 * 3_600_000 + 45 * 60_000)
    expect(parseGoDuration('1.5s')).toBe(1500)
    expect(parseGoDuration('-1.5h')).toBe(-5_400_000)
    expect(parseGoDuration('1000us')).toBeCloseTo(1)
    expect(parseGoDuration('0')).toBe(0)
    expect(parseGoDuration('1000')).toBeUndefined()
    expect(parseGoDuration('soon')).toBeUndefined()
  })
})

describe('workflow spec bounds', () => {
  const deep = (n: number) => {
    let step: Record<string, unknown> = { function: 'f' }
    for (let i = 0; i < n; i++) step = { foreach: '$.input', do: step }
    return { name: 'deep', tasks: { a: step } }
  }

  it('a 3,000-deep spec is refused with KILN_ERR_WORKFLOW_TOO_LARGE, not a stack overflow', () => {
    expect(codeOf(() => parseWorkflow(deep(3000)))).toBe('KILN_ERR_WORKFLOW_TOO_LARGE')
    expect(codeOf(() => parseWorkflow(deep(10)))).toBe('ok')
  })

  it('so is a spec with too many tasks, or too many values; the limits are the documented ones', () => {
    const tasks = Object.fromEntries(Array.from({ length: WORKFLOW_BOUNDS.tasks + 1 }, (_, i) => [`t${i}`, { function: 'f' }]))
    expect(codeOf(() => parseWorkflow({ name: 'many', tasks }))).toBe('KILN_ERR_WORKFLOW_TOO_LARGE')
    expect(codeOf(() => checkWorkflowBounds({ tasks: { a: { input: new Array(WORKFLOW_BOUNDS.values + 1).fill(1) } } }))).toBe('KILN_ERR_WORKFLOW_TOO_LARGE')
    expect(codeOf(() => parseWorkflow({ name: 'fdeep', apiVersion: 1, tasks: { a: { run: 'noop', inputs: JSON.parse('['.repeat(3000) + ']'.repeat(3000)) } } }))).toBe('KILN_ERR_WORKFLOW_TOO_LARGE')
  })
})
