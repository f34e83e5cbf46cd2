import { describe, expect, it } from 'vitest'
import { asyncFunctionPath, brokerName, functionPath, kubeName, parseRef, refOf, refOfKubeName, refOfMeta, workflowPath } from '../../../core/refs.js'
import { asyncSegment, parseAsyncFunctionUrl, parseFunctionUrl } from '../../../router/function-url.js'

describe('refs', () => {
  it('the default namespace keeps bare names (old data dirs mean the same); others are ns/name', () => {
    expect(refOf(undefined, 'hello')).toBe('hello')
    expect(refOf('default', 'hello')).toBe('hello')
    expect(refOf('team-a', 'hello')).toBe('team-a/hello')
    expect(refOfMeta({ name: 'x', namespace: 'team-a' })).toBe('team-a/x')
    expect(parseRef('hello')).toEqual({ namespace: 'default', name: 'hello' })
    expect(parseRef('team-a/hello')).toEqual({ namespace: 'team-a', name: 'hello' })
  })

  it('Kubernetes names use a dot (illegal in Kiln names), so two refs never share an object name', () => {
    expect(kubeName('hello')).toBe('hello')
    expect(kubeName('team-a/hello')).toBe('team-a.hello')
    for (const ref of ['hello', 'team-a/hello', 'a-b/c', 'a/b-c']) expect(refOfKubeName(kubeName(ref))).toBe(ref)
    expect(new Set(['a-b/c', 'a/b-c'].map(kubeName)).size).toBe(2)
  })

  it('broker names use an underscore (illegal in Kiln names; NATS refuses dots), so two refs never share a consumer', () => {
    expect(brokerName('orders')).toBe('orders')
    expect(brokerName('team-a/orders')).toBe('team-a_orders')
    const refs = ['a-b/c', 'a/b-c', 'a/b', 'ab', 'a-b']
    expect(new Set(refs.map(brokerName)).size).toBe(refs.length)
    for (const ref of refs) expect(brokerName(ref)).not.toMatch(/[./*> ]/)
  })

  it('data-plane paths: /fn and /wf in default, /ns/NS/... elsewhere, each part encoded; the router reads them back', () => {
    expect(functionPath('hello')).toBe('/fn/hello')
    expect(functionPath('team-a/hello')).toBe('/ns/team-a/fn/hello')
    expect(workflowPath('team-a/order')).toBe('/ns/team-a/wf/order')
    expect(functionPath('x/../v1')).toBe('/ns/x/fn/..%2Fv1')
    expect(parseFunctionUrl('/ns/team-a/fn/hello/rest?q=1')).toEqual({ name: 'team-a/hello', alias: undefined, version: 0, path: '/rest?q=1' })
    expect(parseFunctionUrl('/ns/default/fn/hello')).toEqual({ name: 'hello', alias: undefined, version: 0, path: '/' })
    expect(parseFunctionUrl('/fn/hello?x')).toEqual({ name: 'hello', alias: undefined, version: 0, path: '/?x' })
    // A slash smuggled into a name does not name another namespace's function.
    expect(parseFunctionUrl('/fn/team-a%2Fhello')).toBeUndefined()
    expect(parseFunctionUrl('/ns/team-a/wf/x')).toBeUndefined()
  })

  it('async paths: /async/fn in default, /ns/NS/async/fn elsewhere; the router reads them back', () => {
    expect(asyncFunctionPath('hello')).toBe('/async/fn/hello')
    expect(asyncFunctionPath('team-a/hello')).toBe('/ns/team-a/async/fn/hello')
    expect(parseAsyncFunctionUrl('/async/fn/hello/rest?q=1')).toMatchObject({ name: 'hello', path: '/rest?q=1', version: 0, alias: undefined })
    expect(parseAsyncFunctionUrl('/ns/team-a/async/fn/hello?x')).toMatchObject({ name: 'team-a/hello', path: '/?x' })
    expect(parseAsyncFunctionUrl(asyncFunctionPath('team-a/hello'))).toMatchObject({ name: 'team-a/hello', path: '/' })
    expect(parseAsyncFunctionUrl('/ns/team-a/async/fn/team-b%2Fx')).toBeUndefined()
    expect(parseAsyncFunctionUrl('/ns/team-a/fn/hello')).toBeUndefined()
    expect(parseAsyncFunctionUrl('/ns//async/fn/hello')).toBeUndefined()
    // An async call runs the main split: a version or an alias is not one.
    expect(parseAsyncFunctionUrl('/async/fn/hello@2')).toBeUndefined()
    expect(parseAsyncFunctionUrl('/ns/team-a/async/fn/hello@prod')).toBeUndefined()
    expect(asyncSegment('/ns/team-a/async/fn/x')).toBe(10)
    expect(asyncSegment('/async/fn/x')).toBe(-1)
  })
})
