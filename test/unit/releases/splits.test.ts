// What a traffic record means: splits checked, each version's share, the versions in use, changed fields.
import { describe, expect, it } from 'vitest'
import { changedFields, checkSplit, primaryOf, referencedVersions, sameJson, sharesOf } from '../../../core/releases/splits.js'
import { KilnError } from '../../../core/errors.js'
import type { FunctionTrafficSpec } from '../../../core/types.js'

const code = (f: () => unknown) => { try { f(); return 'ok' } catch (e) { return (e as KilnError).code } }
const exists = (n: number) => n <= 5

describe('splits', () => {
  it('a split adds up to 100, names each version once and only versions that exist, sticky one way', () => {
    expect(checkSplit({ targets: [{ version: 3, weight: 90 }, { version: 4, weight: 10 }] }, exists).targets).toHaveLength(2)
    expect(code(() => checkSplit({ targets: [{ version: 3, weight: 90 }, { version: 4, weight: 20 }] }, exists))).toBe('KILN_ERR_VALIDATION')
    expect(code(() => checkSplit({ targets: [{ version: 3, weight: 50 }, { version: 3, weight: 50 }] }, exists))).toBe('KILN_ERR_VALIDATION')
    expect(code(() => checkSplit({ targets: [{ version: 3, weight: 50 }, { version: 9, weight: 50 }] }, exists))).toBe('KILN_ERR_VERSION_NOT_FOUND')
    expect(code(() => checkSplit({ targets: [] }, exists))).toBe('KILN_ERR_VALIDATION')
    expect(code(() => checkSplit({ targets: [{ version: 1, weight: 100 }], stickyHeader: 'X-User', stickyCookie: 's' }, exists))).toBe('KILN_ERR_VALIDATION')
    expect(code(() => checkSplit({ targets: [{ version: 1, weight: 100 }], stickyHeader: 'bad header' }, exists))).toBe('KILN_ERR_VALIDATION')
    expect(code(() => checkSplit({ targets: [{ version: 0, weight: 100 }] }, exists))).toBe('KILN_ERR_VALIDATION')
    expect(code(() => checkSplit({ targets: [{ version: 1, weight: 100 }], extra: 1 }, exists))).toBe('KILN_ERR_VALIDATION')
  })

  it('shares: a version\'s largest weight in the main split or any alias; the primary is the heaviest', () => {
    const t: FunctionTrafficSpec = {
      function: 'f',
      traffic: { targets: [{ version: 3, weight: 90 }, { version: 4, weight: 10 }] },
      aliases: { prod: { targets: [{ version: 2, weight: 100 }] }, beta: { targets: [{ version: 4, weight: 50 }, { version: 5, weight: 50 }] } },
    }
    expect(Object.fromEntries(sharesOf(t))).toEqual({ 3: 0.9, 4: 0.5, 2: 1, 5: 0.5 })
    expect(primaryOf(t.traffic)).toBe(3)
    expect([...referencedVersions(t)].sort()).toEqual([2, 3, 4, 5])
    expect([...referencedVersions({ ...t, aliases: undefined, canary: { from: 1, to: 6, state: 'running' } as never })].sort()).toEqual([1, 3, 4, 6])
    expect(referencedVersions(undefined).size).toBe(0)
  })

  it('changed fields: those whose values differ, whatever the key order; none for a first version', () => {
    const a = { runtime: 'node', package: { sha256: 'a' }, entrypoint: 'i.mjs', env: { A: '1', B: '2' } }
    expect(changedFields(undefined, a)).toEqual([])
    expect(changedFields(a, { ...a, env: { B: '2', A: '1' } })).toEqual([])
    expect(changedFields(a, { ...a, package: { sha256: 'b' }, timeoutMs: 5 })).toEqual(['package', 'timeoutMs'])
    expect(changedFields({ ...a, minWarm: 2 }, a)).toEqual(['minWarm'])
    expect(sameJson({ x: [1, { b: 1, a: 2 }] }, { x: [1, { a: 2, b: 1 }] })).toBe(true)
    expect(sameJson([1, 2], [2, 1])).toBe(false)
  })
})
