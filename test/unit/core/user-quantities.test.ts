// What users type, read without guessing: durations are seconds unless they carry a unit; sizes are
// Kubernetes quantities (m is milli: refused for memory, with the fix); cpu is cores or millicores;
// settings without effect under a strategy or reuse policy are named with where they belong.
import { describe, expect, it } from 'vitest'
import { checkFunctionSettings, ineffectiveSettings } from '../../../core/function-settings.js'
import { checkMemoryQuantity, formatDuration, parseCpuQuantity, parseSizeQuantity, parseUserDuration } from '../../../core/quantity.js'
import { validateResource } from '../../../core/validate.js'

describe('durations', () => {
  it.each([['30', 30_000], ['1.5', 1500], ['500ms', 500], ['30s', 30_000], ['5m', 300_000], ['1h30m', 5_400_000], ['2d', 172_800_000]])('%s is %d ms', (s, ms) => {
    expect(parseUserDuration(s)).toBe(ms)
  })
  it.each(['30x', 'soon', '', '-5', '5 m'])('"%s" is refused, naming the forms', (s) => {
    expect(() => parseUserDuration(s)).toThrow(/not a duration: .*500ms, 30s, 5m, 1h30m/)
  })
  it('writes durations back the short way', () => {
    expect([formatDuration(30_000), formatDuration(5_400_000), formatDuration(1500), formatDuration(0)]).toEqual(['30s', '1h30m', '1500ms', '0s'])
  })
})

describe('sizes and cpu', () => {
  it('Kubernetes quantities pass', () => {
    for (const s of ['128Mi', '1Gi', '512M', '1G', '64k', '2097152']) expect(checkMemoryQuantity(s)).toBeUndefined()
    expect(parseSizeQuantity('128Mi')).toBe(128 * 1024 * 1024)
    expect(parseSizeQuantity('512M')).toBe(512e6)
  })
  it('128m is refused: m is milli, and the fix is named', () => {
    expect(checkMemoryQuantity('128m')).toBe('"128m" is 0.128 bytes: m is milli in Kubernetes quantities; write 128Mi (mebibytes) or 128M (megabytes)')
  })
  it('a small unit-less number and lower-case g are refused with the fix', () => {
    expect(checkMemoryQuantity('128')).toContain('give a unit: 128Mi')
    expect(checkMemoryQuantity('1g')).toContain('write 1Gi or 1G')
    expect(checkMemoryQuantity('12 apples')).toContain('is not a size')
  })
  it('cpu: cores or millicores', () => {
    expect([parseCpuQuantity('0.5'), parseCpuQuantity('500m'), parseCpuQuantity('2')]).toEqual([0.5, 0.5, 2])
    expect(() => parseCpuQuantity('half')).toThrow(/not a cpu quantity/)
    expect(() => parseCpuQuantity('0')).toThrow(/more than 0/)
  })
})

describe('settings without effect', () => {
  it('names each setting that its strategy or reuse policy ignores', () => {
    expect(ineffectiveSettings({ minWarm: 2 }).map((r) => r.field)).toEqual(['minWarm'])
    expect(ineffectiveSettings({ strategy: 'warm', minWarm: 2 })).toEqual([])
    expect(ineffectiveSettings({ strategy: 'warm', minScale: 1, maxRequests: 5 }).map((r) => r.field)).toEqual(['minScale', 'maxRequests'])
    expect(ineffectiveSettings({ reuse: 'recycle', maxAgeMs: 1000, warmup: { path: '/' } })).toEqual([])
    expect(ineffectiveSettings({ strategy: 'dedicated', maxAgeMs: 1000 }).map((r) => r.field)).toEqual(['maxAgeMs'])
  })
  it('refuses with KILN_ERR_INEFFECTIVE_SETTING, naming where it belongs', () => {
    expect(() => checkFunctionSettings({ minWarm: 3 })).toThrow(expect.objectContaining({ code: 'KILN_ERR_INEFFECTIVE_SETTING', message: 'spec.minWarm: has no effect with strategy pool, reuse reuse; it applies to strategy warm (set that, or remove minWarm)' }))
    expect(() => checkFunctionSettings({ resources: { memory: '128m' } })).toThrow(expect.objectContaining({ code: 'KILN_ERR_VALIDATION' }))
  })
})

describe('validation errors list the allowed values', () => {
  const fn = (spec: Record<string, unknown>) => ({ metadata: { name: 'x' }, spec: { runtime: 'node', package: { sha256: 'a'.repeat(64) }, entrypoint: 'i.js', ...spec } })
  it('a union of literals', () => {
    expect(() => validateResource('Function', fn({ strategy: 'warmm' }))).toThrow('Function: spec.strategy: must be one of pool, warm, dedicated (got "warmm")')
    expect(() => validateResource('Function', fn({ shape: 'aws' }))).toThrow('must be one of kiln, fission, openfaas, lambda (got "aws")')
  })
  it('a union of a number range and a literal', () => {
    expect(() => validateResource('Function', fn({ minWarm: 'lots' }))).toThrow('spec.minWarm: must be one of a whole number 0-1000, auto (got "lots")')
  })
})
