// Templates and JSONata expressions: values, interpolation, recursion, safety limits, task references.
import { describe, expect, it } from 'vitest'
import { evaluateTemplate, taskReferences, truthy } from '../../../workflows/expressions.js'

const ctx = { input: { n: 2, name: 'kiln', items: [{ sku: 'a' }] }, tasks: { price: { output: { total: 150 } } } }

describe('templates', () => {
  it('a string that is exactly {{ expr }} yields the value with its type', async () => {
    expect(await evaluateTemplate('{{ $.input.n }}', ctx)).toBe(2)
    expect(await evaluateTemplate('  {{ $.input.items }} ', ctx)).toEqual([{ sku: 'a' }])
    expect(await evaluateTemplate('{{ $.tasks.price.output.total > 100 }}', ctx)).toBe(true)
    expect(await evaluateTemplate('{{ $.input.missing }}', ctx)).toBeUndefined()
  })

  it('{{ }} inside a longer string interpolates', async () => {
    expect(await evaluateTemplate('hello {{ $.input.name }} x{{ $.input.n * 2 }} {{ $.input.items }}', ctx)).toBe('hello kiln x4 [{"sku":"a"}]')
    expect(await evaluateTemplate('{{ $.input.n }} and {{ $.input.n }}', ctx)).toBe('2 and 2')
  })

  it('objects and arrays are templated recursively; other values are literal', async () => {
    expect(await evaluateTemplate({ a: ['{{ $.input.n }}', 3, null, { b: 'n={{ $.input.n }}' }], c: true }, ctx)).toEqual({ a: [2, 3, null, { b: 'n=2' }], c: true })
  })

  it('a runaway expression fails instead of hanging (the sandbox stops it)', async () => {
    await expect(evaluateTemplate('{{ ($f := function($x){ $f($x) + 1 }; $f(1)) }}', ctx)).rejects.toMatchObject({ code: expect.stringMatching(/^KILN_ERR_EXPRESSION(_LIMIT)?$/) })
  })

  it('there is no way out to JavaScript', async () => {
    await expect(evaluateTemplate('{{ $eval("process") }}', ctx)).resolves.toBeUndefined()
    await expect(evaluateTemplate('{{ $require("fs") }}', ctx)).rejects.toMatchObject({ code: 'KILN_ERR_EXPRESSION' })
  })

  it('finds the tasks an expression reads', () => {
    expect(taskReferences('$.tasks.a.output + $$.tasks.b.output + tasks.c + $.input.tasks')).toEqual(['a', 'b', 'c'])
    expect(taskReferences('$count($.tasks.`my-task`.output[0])')).toEqual(['my-task'])
  })

  it('truthiness: empty arrays and missing values are false', () => {
    expect([undefined, null, false, 0, '', []].map(truthy)).toEqual([false, false, false, false, false, false])
    expect([true, 1, 'x', [0, 1], {}].map(truthy)).toEqual([true, true, true, true, true])
  })
})
