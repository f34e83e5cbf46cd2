import { describe, expect, it } from 'vitest'
import { defaultSandbox, loadConfig } from '../../../core/config.js'
import { checkLimits, limitsPolicy } from '../../../core/limits.js'

const MiB = 1024 * 1024

describe('operator limits', () => {
  const policy = limitsPolicy(defaultSandbox().limits)
  it('the defaults hold a value for every limit, each within its maximum', () => {
    for (const k of ['memoryBytes', 'pids', 'openFiles', 'fileSizeBytes', 'tmpBytes'] as const) {
      expect(policy.default[k]).toBeGreaterThan(0)
      expect(policy.default[k]!).toBeLessThanOrEqual(policy.max[k]!)
    }
  })
  it('lets a function ask for less, or more up to the maximum, and refuses beyond it naming the field', () => {
    expect(() => checkLimits({ memory: '64Mi', tmp: '1Mi', openFiles: 64 }, policy)).not.toThrow()
    expect(() => checkLimits({ memory: '8Gi' }, policy)).not.toThrow()
    expect(() => checkLimits({ memory: '9Gi' }, policy)).toThrow(expect.objectContaining({ code: 'KILN_ERR_VALIDATION', details: { field: 'spec.resources.memory', max: 8 * 1024 * MiB } }))
    expect(() => checkLimits({ openFiles: 65537 }, policy)).toThrow(expect.objectContaining({ details: expect.objectContaining({ field: 'spec.resources.openFiles' }) }))
    expect(() => checkLimits(undefined, policy)).not.toThrow()
  })
  it('refuses a configuration whose default is above its maximum, or not a size', () => {
    expect(() => limitsPolicy({ default: { tmp: '2Gi' }, max: { tmp: '1Gi' } })).toThrow(expect.objectContaining({ code: 'KILN_ERR_VALIDATION' }))
    expect(() => limitsPolicy({ default: { memory: 'lots' }, max: {} })).toThrow(/sandbox\.limits\.default\.memory/)
  })
  it('kiln.yaml merges over the defaults field by field; a bad network mode is refused', () => {
    const c = loadConfig({ sandbox: { limits: { default: { tmp: '8Mi' } } } as never }, {})
    expect(c.sandbox.limits.default).toMatchObject({ tmp: '8Mi', memory: defaultSandbox().limits.default.memory })
    expect(c.sandbox.network).toBe('egress')
    expect(() => loadConfig({ sandbox: { network: 'wide-open' } as never }, {})).toThrow(/sandbox\.network/)
    expect(loadConfig({}, { KILN_SANDBOX: 'off', KILN_SANDBOX_NETWORK: 'none' }).sandbox).toMatchObject({ enabled: false, network: 'none' })
  })
})
