// The router's side of a split: the version a URL names, and a caller's sticky cookie read without copying.
import { describe, expect, it } from 'vitest'
import { stickyHash } from '../../../core/releases/split-table.js'
import { parseTarget, refOfTarget, targetOf } from '../../../core/refs.js'
import { parseFunctionUrl } from '../../../router/function-url.js'
import { cookieHash } from '../../../router/version-pick.js'

describe('naming a version', () => {
  it('/fn/NAME@N and /fn/NAME@ALIAS, namespaced too, with the path after', () => {
    expect(parseFunctionUrl('/fn/hello@3/a?b=1')).toEqual({ name: 'hello', alias: undefined, version: 3, path: '/a?b=1' })
    expect(parseFunctionUrl('/fn/hello@prod')).toEqual({ name: 'hello', alias: 'prod', version: 0, path: '/' })
    expect(parseFunctionUrl('/ns/team-a/fn/hello@beta-2?x')).toEqual({ name: 'team-a/hello', alias: 'beta-2', version: 0, path: '/?x' })
    expect(parseFunctionUrl('/fn/hello%40prod/z')).toEqual({ name: 'hello', alias: 'prod', version: 0, path: '/z' })
    for (const bad of ['/fn/hello@', '/fn/@3', '/fn/hello@0', '/fn/hello@03', '/fn/hello@Prod', '/fn/hello@-x', '/fn/hello@a@b', '/fn/hello@1.5']) {
      expect(parseFunctionUrl(bad), bad).toBeUndefined()
    }
  })

  it('a target names a ref and, maybe, a version or an alias (the invoker\'s form)', () => {
    expect(parseTarget('team-a/hello@prod')).toEqual({ ref: 'team-a/hello', alias: 'prod', version: 0 })
    expect(parseTarget('hello@12')).toEqual({ ref: 'hello', alias: undefined, version: 12 })
    expect(parseTarget('hello')).toEqual({ ref: 'hello', alias: undefined, version: 0 })
    expect(parseTarget('hello@')).toBeUndefined()
    expect(parseTarget('hello@0')).toBeUndefined()
    expect(refOfTarget('team-a/hello@3')).toBe('team-a/hello')
    expect(targetOf('hello', { alias: 'prod' })).toBe('hello@prod')
    expect(targetOf('hello', { version: 4 })).toBe('hello@4')
    expect(targetOf('hello', {})).toBe('hello')
  })
})

describe('sticky cookie', () => {
  it('hashes the named cookie\'s value wherever it is in the header, quoted or not', () => {
    const h = stickyHash('abc')
    expect(cookieHash('session=abc', 'session')).toBe(h)
    expect(cookieHash('theme=dark; session=abc; lang=en', 'session')).toBe(h)
    expect(cookieHash('theme=dark;session=abc', 'session')).toBe(h)
    expect(cookieHash('session="abc"', 'session')).toBe(h)
    expect(cookieHash('session=abc ', 'session')).toBe(h)
  })

  it('a cookie whose name only contains or starts with the name is another cookie; absent or empty is -1', () => {
    expect(cookieHash('xsession=abc', 'session')).toBe(-1)
    expect(cookieHash('session2=abc', 'session')).toBe(-1)
    expect(cookieHash('sessionx=1; session=abc', 'session')).toBe(stickyHash('abc'))
    expect(cookieHash('theme=dark', 'session')).toBe(-1)
    expect(cookieHash('session=', 'session')).toBe(-1)
    expect(cookieHash('', 'session')).toBe(-1)
    expect(cookieHash('session', 'session')).toBe(-1)
  })
})
