// What KubernetesBackend.setLimits asks the API server for (cluster/kubernetes/resize.ts): the rules
// are the API server's (a resize may not change the QoS class nor remove a request or limit), so each
// case here names the rule it keeps; resize.test.ts proves the same against a real kube-apiserver.
import { describe, expect, it } from 'vitest'
import { parseQuantity, resizeTarget, ResizeError, type Resources } from '../../cluster/kubernetes/resize.js'

const MiB = 2 ** 20
const pool: Resources = { requests: { cpu: 50, memory: 64 * MiB }, limits: {} }
const capacity = { cpu: 4000, memory: 8192 * MiB }

describe('resizeTarget', () => {
  it('a generic pool pod (Burstable) keeps its requests and takes the function\'s limits', () => {
    expect(resizeTarget(pool, pool, { cpu: 0.5, memoryBytes: 128 * MiB })).toEqual({ requests: { cpu: 50, memory: 64 * MiB }, limits: { cpu: 500, memory: 128 * MiB } })
  })

  it('requests are capped at smaller limits, and kept below one of them so the pod does not become Guaranteed', () => {
    expect(resizeTarget(pool, pool, { cpu: 0.01, memoryBytes: 32 * MiB })).toEqual({ requests: { cpu: 5, memory: 32 * MiB }, limits: { cpu: 10, memory: 32 * MiB } })
    // Only memory limited: cpu has no limit, so requests may equal the memory limit.
    expect(resizeTarget(pool, pool, { memoryBytes: 32 * MiB })).toEqual({ requests: { cpu: 50, memory: 32 * MiB }, limits: { memory: 32 * MiB } })
  })

  it('a Guaranteed pod (a function set\'s) keeps requests = limits', () => {
    const ded: Resources = { requests: { cpu: 250, memory: 96 * MiB }, limits: { cpu: 250, memory: 96 * MiB } }
    expect(resizeTarget(ded, ded, { cpu: 0.5 })).toEqual({ requests: { cpu: 500, memory: 96 * MiB }, limits: { cpu: 500, memory: 96 * MiB } })
  })

  it('null restores the claimed requests and lifts limits the pod did not have to the node\'s capacity (they cannot be removed)', () => {
    const sized: Resources = { requests: pool.requests, limits: { cpu: 500, memory: 128 * MiB } }
    expect(resizeTarget(pool, sized, null, capacity)).toEqual({ requests: pool.requests, limits: capacity })
    expect(() => resizeTarget(pool, sized, null)).toThrow(ResizeError)
    expect(resizeTarget(pool, pool, null)).toEqual(pool)
  })

  it('after a lift, a limit the next function does not set keeps the lifted value', () => {
    const lifted: Resources = { requests: pool.requests, limits: capacity }
    expect(resizeTarget(pool, lifted, { cpu: 0.25 })).toEqual({ requests: pool.requests, limits: { cpu: 250, memory: capacity.memory } })
  })

  it('a pod with no requests (BestEffort) cannot take limits: the QoS class would change', () => {
    const none: Resources = { requests: {}, limits: {} }
    expect(() => resizeTarget(none, none, { cpu: 0.5 })).toThrow(/BestEffort/)
  })
})

describe('parseQuantity', () => {
  it.each([
    ['500m', 0.5], ['1', 1], ['0.5', 0.5], ['128Mi', 128 * MiB], ['134217728', 134217728], ['1e3', 1000], ['1.5Gi', 1.5 * 2 ** 30], ['2k', 2000],
  ])('%s is %d', (q, n) => {
    expect(parseQuantity(q)).toBe(n)
  })

  it('a malformed quantity is NaN', () => {
    expect(parseQuantity('lots')).toBeNaN()
    expect(parseQuantity('5Qi')).toBeNaN()
  })
})
