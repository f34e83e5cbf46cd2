// What the executor puts in runtime pods (cluster/kubernetes/pod-template.ts) from the operator's settings
// (KILN_RUNTIME_POD_TEMPLATE, platform/kubernetes/runtime-pod-settings.ts): placement on runtime and
// isolated nodes, the hardening docs/sandbox.md asks for, requests.
import { describe, expect, it } from 'vitest'
import { functionSetDeployment, podSpec, RUNTIME_POD_SECURITY, type RuntimePodTemplate } from '../../../cluster/kubernetes/pod-template.js'
import { DEFAULT_NODES } from '../../../core/config.js'
import { KilnError } from '../../../core/errors.js'
import type { RuntimeResource } from '../../../core/types.js'
import { parseRuntimePodTemplate } from '../../../platform/kubernetes/runtime-pod-settings.js'
import { podProtections } from '../../../cluster/kubernetes/pod-protections.js'

const RT: RuntimeResource = { metadata: { name: 'node' }, spec: { image: 'kiln/runtime-node:dev', port: 8888 } }
const general = DEFAULT_NODES.find((n) => n.name === 'general')
const isolated = DEFAULT_NODES.find((n) => n.name === 'isolated')
const TEMPLATE: RuntimePodTemplate = {
  runtime: { nodeSelector: { 'kiln.dev/pool': 'general' }, tolerations: [{ key: 'kiln.dev/runtime', operator: 'Equal', value: 'true', effect: 'NoSchedule' }] },
  isolated: { nodeSelector: { 'kiln.dev/pool': 'noisy' }, tolerations: [{ key: 'kiln.dev/noisy', operator: 'Exists', effect: 'NoSchedule' }] },
  requests: { cpu: '20m', memory: '32Mi' },
  tmpSize: '128Mi',
  networkPolicy: true,
}

describe('runtime pods', () => {
  it('are hardened by default: non-root, no escalation, no capabilities, RuntimeDefault seccomp, read-only root, no token', () => {
    const s = podSpec({ runtime: RT, node: general })
    expect(s.automountServiceAccountToken).toBe(false)
    expect(s.enableServiceLinks).toBe(false)
    expect(s.securityContext).toEqual(RUNTIME_POD_SECURITY.pod)
    expect(s.securityContext!.runAsNonRoot).toBe(true)
    expect(s.securityContext!.seccompProfile).toEqual({ type: 'RuntimeDefault' })
    expect(s.containers[0]!.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, privileged: false, capabilities: { drop: ['ALL'] } })
    expect(s.volumes).toEqual([{ name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } }])
    expect(s.containers[0]!.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }])
  })

  it('general pods go to the runtime nodes the template names, tolerating their taint', () => {
    const s = podSpec({ runtime: RT, node: general }, TEMPLATE)
    expect(s.nodeSelector).toEqual({ 'kiln.dev/pool': 'general' })
    expect(s.tolerations).toEqual(TEMPLATE.runtime!.tolerations)
    expect(s.affinity).toBeUndefined()
    expect(s.containers[0]!.resources).toEqual({ requests: { cpu: '20m', memory: '32Mi' } })
    expect(s.volumes![0]!.emptyDir!.sizeLimit).toBe('128Mi')
  })

  it('isolated pods go only to the isolated nodes the template names', () => {
    const s = podSpec({ runtime: RT, node: isolated }, TEMPLATE)
    expect(s.nodeSelector).toBeUndefined()
    expect(s.tolerations).toEqual(TEMPLATE.isolated!.tolerations)
    expect(s.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms).toEqual([{ matchExpressions: [{ key: 'kiln.dev/pool', operator: 'In', values: ['noisy'] }] }])
  })

  it('without a template, isolated pods keep the built-in taint and label', () => {
    const s = podSpec({ runtime: RT, node: isolated })
    expect(s.tolerations).toEqual([{ key: 'kiln.dev/isolated', value: 'true', effect: 'NoSchedule', operator: 'Equal' }])
  })

  it("a dedicated function's pods request its requests and are limited to its limits", () => {
    const d = functionSetDeployment({ runtime: RT, node: general, fn: 'f', limits: { cpu: 1, memoryBytes: 256 * 2 ** 20, requests: { cpu: 0.25 } } }, 'kiln', TEMPLATE)
    expect(d.spec!.template.spec!.containers[0]!.resources).toEqual({ limits: { cpu: '1000m', memory: String(256 * 2 ** 20) }, requests: { cpu: '250m', memory: String(256 * 2 ** 20) } })
  })
})

describe('KILN_RUNTIME_POD_TEMPLATE', () => {
  it('reads what the chart writes', () => {
    expect(parseRuntimePodTemplate(JSON.stringify(TEMPLATE))).toEqual(TEMPLATE)
  })

  it.each([
    ['not JSON', '{'],
    ['an unknown field', '{"nodeSelector":{}}'],
    ['a selector that is not a map of strings', '{"runtime":{"nodeSelector":{"a":1}}}'],
    ['tolerations that are not a list', '{"isolated":{"tolerations":{}}}'],
    ['a tmp size that is not one', '{"tmpSize":"lots"}'],
    ['a network policy flag that is not a boolean', '{"networkPolicy":"yes"}'],
  ])('refuses %s with KILN_ERR_VALIDATION', (_what, json) => {
    expect(() => parseRuntimePodTemplate(json)).toThrow(KilnError)
  })
})

describe('what runtime pods protect (pod-protections.ts), from the template they are made with', () => {
  const missing = (t?: RuntimePodTemplate) => podProtections(t).filter((p) => !p.active).map((p) => p.name)

  it('the chart\'s pods: a non-root uid, a read-only root with a capped /tmp, only executors reach them; limits are the function\'s', () => {
    expect(missing(TEMPLATE)).toEqual(['limits'])
    const tmp = podProtections(TEMPLATE).find((p) => p.name === 'tmp')!
    expect(tmp.detail).toContain('128Mi')
  })

  it('without the NetworkPolicy, network and transport are missing', () => {
    expect(missing({ ...TEMPLATE, networkPolicy: false })).toEqual(['network', 'limits', 'transport'])
    expect(missing()).toEqual(['network', 'limits', 'transport'])
  })

  it('a template that lets pods run as root, or keep their capabilities, lacks uid', () => {
    expect(missing({ ...TEMPLATE, podSecurityContext: { runAsUser: 0 } })).toContain('uid')
    expect(missing({ ...TEMPLATE, containerSecurityContext: { ...RUNTIME_POD_SECURITY.container, capabilities: { drop: ['NET_RAW'] } } })).toContain('uid')
    expect(missing({ ...TEMPLATE, containerSecurityContext: { ...RUNTIME_POD_SECURITY.container, allowPrivilegeEscalation: true } })).toContain('uid')
  })
})
