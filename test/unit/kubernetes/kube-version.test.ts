// The minimum Kubernetes version (cluster/kubernetes/version.ts): read from /version as providers
// report it, and refused with KILN_ERR_KUBE_VERSION below 1.33.
import { describe, expect, it } from 'vitest'
import { KilnError } from '../../../core/errors.js'
import { MIN_KUBERNETES_VERSION, parseKubeVersion, requireKubeVersion } from '../../../cluster/kubernetes/version.js'

describe('the minimum Kubernetes version', () => {
  it.each([
    [{ major: '1', minor: '36', gitVersion: 'v1.36.3' }, { major: 1, minor: 36 }],
    [{ major: '1', minor: '33+', gitVersion: 'v1.33.4-gke.1245000' }, { major: 1, minor: 33 }],
    [{ gitVersion: 'v1.35.1+k3s1' }, { major: 1, minor: 35 }],
  ])('reads %j', (v, want) => {
    expect(parseKubeVersion(v)).toEqual(want)
  })

  it('1.33 and newer pass', () => {
    expect(MIN_KUBERNETES_VERSION).toBe('1.33')
    for (const minor of ['33', '34', '36']) expect(() => requireKubeVersion({ major: '1', minor, gitVersion: `v1.${minor}.0` })).not.toThrow()
    expect(() => requireKubeVersion({ major: '2', minor: '0' })).not.toThrow()
  })

  it('1.32 is refused with KILN_ERR_KUBE_VERSION naming both versions', () => {
    let err: unknown
    try { requireKubeVersion({ major: '1', minor: '32', gitVersion: 'v1.32.9' }) } catch (e) { err = e }
    expect(err).toBeInstanceOf(KilnError)
    expect((err as KilnError).code).toBe('KILN_ERR_KUBE_VERSION')
    expect((err as KilnError).details).toEqual({ kubeVersion: 'v1.32.9', minimum: '1.33' })
  })

  it('an unreadable version is refused too', () => {
    expect(() => requireKubeVersion({ gitVersion: 'devel' })).toThrow(KilnError)
  })
})
