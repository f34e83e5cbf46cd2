import { describe, expect, it } from 'vitest'
import { codeOwner, mayReuse } from '../../../executor/reuse-boundary.js'
import type { FunctionResource } from '../../../core/types.js'

const fn = (name: string, createdAt: string, extra: Record<string, string> = {}) =>
  ({ metadata: { name, createdAt, ...extra }, spec: { runtime: 'node', package: { sha256: 'a'.repeat(64) }, entrypoint: 'index.mjs' } }) as unknown as FunctionResource

describe('mayReuse', () => {
  const a1 = codeOwner(fn('a', '2026-01-01T00:00:00.000Z'))
  it('an instance that has run no code may serve anyone', () => {
    expect(mayReuse(undefined, a1)).toBe(true)
  })
  it('the same function (any version) may have its instance back', () => {
    expect(mayReuse(a1, codeOwner(fn('a', '2026-01-01T00:00:00.000Z')))).toBe(true)
  })
  it('another function never, nor a function created again under the same name', () => {
    expect(mayReuse(a1, codeOwner(fn('b', '2026-01-01T00:00:00.000Z')))).toBe(false)
    expect(mayReuse(a1, codeOwner(fn('a', '2026-02-02T00:00:00.000Z')))).toBe(false)
  })
  it('sharing within a namespace is the operator\'s choice, and never across namespaces', () => {
    const share = { shareWithinNamespace: (ns: string) => ns === 'team-x' }
    const x1 = codeOwner(fn('a', 't1', { namespace: 'team-x' }))
    const x2 = codeOwner(fn('b', 't2', { namespace: 'team-x' }))
    const y = codeOwner(fn('a', 't1', { namespace: 'team-y' }))
    expect(mayReuse(x1, x2)).toBe(false)
    expect(mayReuse(x1, x2, share)).toBe(true)
    expect(mayReuse(x1, y, share)).toBe(false)
    expect(mayReuse(a1, codeOwner(fn('b', 't3')), share)).toBe(false)
  })
})
