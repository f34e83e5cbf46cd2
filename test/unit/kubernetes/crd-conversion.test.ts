// Functions between kiln.dev/v1 and v2 (core/store/crd-conversion.ts): Kiln's spec as v2 writes it and
// back, and the API server's ConversionReview both ways, losing nothing.
import { describe, expect, it } from 'vitest'
import { convertObject, convertReview, formatCpu, formatDuration, fromV2, parseCpu, toV2, V2_SPEC_ANNOTATION } from '../../../core/store/crd-conversion.js'

const SHA = 'a'.repeat(64)
const V1_SPEC = {
  runtime: 'node', package: { sha256: SHA }, entrypoint: 'index.mjs', env: { A: 'b' },
  resources: { cpu: 0.5, memory: '128Mi', pids: 64 },
  timeoutMs: 30_000, idleTimeoutMs: 90_000, maxAgeMs: 1500, strategy: 'warm', reuse: 'recycle', minWarm: 2,
  tolerations: [{ key: 'kiln.dev/isolated', value: 'true', effect: 'NoSchedule' }],
}
const V2_SPEC = {
  runtime: 'node', package: { sha256: SHA }, entrypoint: 'index.mjs', env: { A: 'b' },
  resources: { limits: { cpu: '500m', memory: '128Mi' } }, processLimits: { pids: 64 },
  timeout: '30s', idleTimeout: '90s', maxAge: '1500ms', strategy: 'warm', reuse: 'recycle', minWarm: 2,
  tolerations: [{ key: 'kiln.dev/isolated', value: 'true', effect: 'NoSchedule' }],
}

const obj = (apiVersion: string, spec: unknown, annotations?: Record<string, string>) => ({
  apiVersion, kind: 'Function', metadata: { name: 'hello', namespace: 'kiln', uid: 'u-1', ...(annotations ? { annotations } : {}) }, spec, status: { readyInstances: 2 },
})

describe('Kiln spec <-> kiln.dev/v2', () => {
  it('durations become strings and resources requests/limits, and read back the same', () => {
    expect(toV2(V1_SPEC)).toEqual(V2_SPEC)
    expect(fromV2(V2_SPEC)).toEqual(V1_SPEC)
  })

  it('requests ride in resources.requests and come back', () => {
    const spec = { ...V1_SPEC, resources: { cpu: 1, memory: '256Mi', requests: { cpu: 0.25, memory: '64Mi' } } }
    const v2 = toV2(spec)
    expect(v2.resources).toEqual({ requests: { cpu: '250m', memory: '64Mi' }, limits: { cpu: '1', memory: '256Mi' } })
    expect(v2.processLimits).toBeUndefined()
    expect(fromV2(v2)).toEqual(spec)
  })

  it('v2 quantities and durations Kubernetes-style read as Kiln numbers', () => {
    const spec = fromV2({ ...V2_SPEC, resources: { limits: { cpu: 2, memory: 134217728 } }, timeout: '1m30s', idleTimeout: '1.5s' })
    expect(spec.resources).toEqual({ cpu: 2, memory: '134217728', pids: 64 })
    expect(spec.timeoutMs).toBe(90_000)
    expect(spec.idleTimeoutMs).toBe(1500)
  })

  it('fields it does not know pass through both ways', () => {
    const spec = { ...V1_SPEC, private: true, secrets: ['db'] }
    expect(fromV2(toV2(spec))).toEqual(spec)
  })

  it.each([[0.5, '500m'], [2, '2'], [0.001, '1m'], [0.0001, '0.0001'], [1.25, '1250m']])('cpu %s cores is "%s" and back', (cores, q) => {
    expect(formatCpu(cores)).toBe(q)
    expect(parseCpu(q)).toBe(cores)
  })

  it.each([[30_000, '30s'], [3_600_000, '1h'], [120_000, '2m'], [1500, '1500ms'], [1, '1ms']])('%s ms is "%s"', (ms, d) => {
    expect(formatDuration(ms)).toBe(d)
  })

  it('a lower-case size unit (Kiln reads m as mega) becomes upper-case (a Kubernetes m is milli)', () => {
    expect((toV2({ ...V1_SPEC, resources: { memory: '128m' } }).resources as any).limits.memory).toBe('128M')
  })

  it('the sandbox\'s limits are process limits in v2, sizes as quantities, and read back the same', () => {
    const spec = { ...V1_SPEC, resources: { cpu: 1, pids: 64, openFiles: 4096, fileSize: '64Mi', tmp: '32M' } }
    const v2 = toV2(spec)
    expect(v2.resources).toEqual({ limits: { cpu: '1' } })
    expect(v2.processLimits).toEqual({ pids: 64, openFiles: 4096, fileSize: '64Mi', tmp: '32M' })
    expect(fromV2(v2)).toEqual(spec)
    // Kiln's mega (m) and kilo (K) are Kubernetes' M and k; an integer quantity reads as Kiln's size string.
    expect(toV2({ ...V1_SPEC, resources: { fileSize: '64m', tmp: '512K' } }).processLimits).toEqual({ fileSize: '64M', tmp: '512k' })
    expect(fromV2({ ...V2_SPEC, processLimits: { tmp: 33554432 } }).resources).toEqual({ cpu: 0.5, memory: '128Mi', tmp: '33554432' })
  })

  it('the async policy\'s backoff is a duration string in v2, and reads back the same', () => {
    const spec = { ...V1_SPEC, async: { retries: 3, retryBackoffMs: 1500, concurrency: 4 } }
    const v2 = toV2(spec)
    expect(v2.async).toEqual({ retries: 3, retryBackoff: '1500ms', concurrency: 4 })
    expect(fromV2(v2)).toEqual(spec)
    expect(fromV2({ ...V2_SPEC, async: { retryBackoff: '1m30s' } }).async).toEqual({ retryBackoffMs: 90_000 })
    // A policy without a backoff passes as it is.
    expect(toV2({ ...V1_SPEC, async: { retries: 0 } }).async).toEqual({ retries: 0 })
  })

  it('a cpu quantity that is not one throws', () => {
    expect(() => parseCpu('lots')).toThrow(/not a cpu quantity/)
  })
})

describe('ConversionReview (the API server <-> the webhook)', () => {
  it('a stored v1 Function reads as v2, and as v1 again exactly as it was', () => {
    const stored = obj('kiln.dev/v1', V1_SPEC)
    const asV2 = convertObject(stored, 'v2')
    expect(asV2).toEqual({ ...stored, apiVersion: 'kiln.dev/v2', spec: V2_SPEC })
    expect(convertObject(asV2, 'v1')).toEqual(stored)
  })

  it('what v1 cannot hold is kept in an annotation and restored when read as v2', () => {
    const v2 = { ...V2_SPEC, resources: { requests: { cpu: '100m' }, limits: { cpu: '500m', memory: '128Mi' } }, timeout: '1.0005s' }
    const asV1 = convertObject(obj('kiln.dev/v2', v2), 'v1')
    expect(asV1.spec).toMatchObject({ resources: { cpu: 0.5, memory: '128Mi', pids: 64 }, timeoutMs: 1001 })
    expect((asV1.spec as any).resources.requests).toBeUndefined()
    expect(JSON.parse(asV1.metadata!.annotations![V2_SPEC_ANNOTATION]!)).toEqual(v2)
    const back = convertObject(asV1, 'v2')
    expect(back.spec).toEqual(v2)
    expect(back.metadata!.annotations).toBeUndefined()
  })

  it('a v1 spec changed since the annotation was written wins over it', () => {
    const v2 = { ...V2_SPEC, resources: { requests: { cpu: '100m' }, limits: { cpu: '500m' } } }
    const asV1 = convertObject(obj('kiln.dev/v2', v2), 'v1')
    const edited = { ...asV1, spec: { ...(asV1.spec as object), timeoutMs: 5000 } }
    const back = convertObject(edited, 'v2')
    expect(back.spec).toMatchObject({ timeout: '5s', resources: { limits: { cpu: '500m' } } })
    expect((back.spec as any).resources.requests).toBeUndefined()
  })

  it('a v1 Function with the sandbox\'s limits and an async policy reads as v2 and back as it was', () => {
    const spec = { ...V1_SPEC, resources: { ...V1_SPEC.resources, openFiles: 1024, fileSize: '16Mi', tmp: '8Mi' }, async: { retries: 5, retryBackoffMs: 250, concurrency: 2 } }
    const asV2 = convertObject(obj('kiln.dev/v1', spec), 'v2')
    expect(asV2.spec).toMatchObject({ processLimits: { pids: 64, openFiles: 1024, fileSize: '16Mi', tmp: '8Mi' }, async: { retries: 5, retryBackoff: '250ms', concurrency: 2 } })
    expect(convertObject(asV2, 'v1')).toEqual(obj('kiln.dev/v1', spec))
  })

  it('a v2 backoff finer than a millisecond is kept in the annotation', () => {
    const v2 = { ...V2_SPEC, async: { retryBackoff: '1.5ms' } }
    const asV1 = convertObject(obj('kiln.dev/v2', v2), 'v1')
    expect((asV1.spec as any).async).toEqual({ retryBackoffMs: 2 })
    expect(convertObject(asV1, 'v2').spec).toEqual(v2)
  })

  it('a v2 spec v1 holds exactly gets no annotation', () => {
    const asV1 = convertObject(obj('kiln.dev/v2', V2_SPEC), 'v1')
    expect(asV1.metadata!.annotations).toBeUndefined()
  })

  it('answers a review with the objects converted, uid echoed', () => {
    const res = convertReview({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'ConversionReview', request: { uid: 'r-1', desiredAPIVersion: 'kiln.dev/v2', objects: [obj('kiln.dev/v1', V1_SPEC)] } })
    expect(res.response).toEqual({ uid: 'r-1', result: { status: 'Success' }, convertedObjects: [{ ...obj('kiln.dev/v1', V1_SPEC), apiVersion: 'kiln.dev/v2', spec: V2_SPEC }] })
  })

  it('refuses a version it does not serve, and a body that is not a review', () => {
    const bad = convertReview({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'ConversionReview', request: { uid: 'r-2', desiredAPIVersion: 'kiln.dev/v9', objects: [] } })
    expect(bad.response).toMatchObject({ uid: 'r-2', result: { status: 'Failure' } })
    expect(convertReview({} as never).response?.result.status).toBe('Failure')
  })
})
