// What Kubernetes mode says it will not do of a Function's spec (platform/kubernetes/function-warnings.ts):
// one warning per setting pods cannot enforce, naming the field; none for a spec pods enforce fully.
import { describe, expect, it } from 'vitest'
import type { FunctionResource } from '../../../core/types.js'
import { kubernetesWarnings } from '../../../platform/kubernetes/function-warnings.js'

const fn = (spec: Partial<FunctionResource['spec']>): FunctionResource => ({
  metadata: { name: 'hello' }, spec: { runtime: 'node', package: { sha256: 'a'.repeat(64) }, entrypoint: 'index.mjs', ...spec },
})
const fields = (w: string[]) => w.map((s) => s.split(' ')[0])

describe('deploy warnings on Kubernetes', () => {
  it('cpu and memory limits, which pods enforce, warn of nothing', () => {
    expect(kubernetesWarnings(fn({ resources: { cpu: 0.5, memory: '128Mi' }, async: { retries: 3 } }))).toEqual([])
  })

  it('pids and the sandbox\'s open files, file size and /tmp each warn, naming the field and the value', () => {
    const w = kubernetesWarnings(fn({ resources: { pids: 64, openFiles: 1024, fileSize: '64Mi', tmp: '32Mi' } }), '128Mi')
    expect(fields(w)).toEqual(['resources.pids', 'resources.openFiles', 'resources.fileSize', 'resources.tmp'])
    expect(w[1]).toContain('(1024)')
    expect(w[2]).toContain('(64Mi)')
    // The /tmp every runtime pod has instead: the operator's size.
    expect(w[3]).toContain('(32Mi)')
    expect(w[3]).toContain('128Mi')
  })

  it('requests warn unless the function is dedicated', () => {
    const requests = { resources: { cpu: 1, requests: { cpu: 0.25 } } }
    expect(fields(kubernetesWarnings(fn({ ...requests, strategy: 'warm' })))).toEqual(['resources.requests'])
    expect(kubernetesWarnings(fn({ ...requests, strategy: 'dedicated' }))).toEqual([])
  })
})
