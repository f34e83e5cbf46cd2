// The chart's built-in runtimes (platform/kubernetes/builtin-runtimes.ts): read from KILN_RUNTIMES and
// registered at the controller's start; the chart owns their image and pool size, nothing else.
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../../../core/logger.js'
import { CachedStore } from '../../../core/store/resource-store.js'
import type { RuntimeResource } from '../../../core/types.js'
import { KilnError } from '../../../core/errors.js'
import { BUILTIN_LABEL, parseRuntimes, registerRuntimes } from '../../../platform/kubernetes/builtin-runtimes.js'

const CHART = JSON.stringify({ node: { image: 'reg/kiln/runtime-node:0.1.0', language: 'node', poolSize: 3, port: 8888 }, python: { image: 'reg/kiln/runtime-python:0.1.0', language: 'python', poolSize: 1, port: 8888 } })

describe('built-in runtimes on Kubernetes', () => {
  it('KILN_RUNTIMES reads as Runtime resources labelled built-in', () => {
    const list = parseRuntimes(CHART)
    expect(list.map((r) => r.metadata.name)).toEqual(['node', 'python'])
    expect(list[0]).toEqual({ metadata: { name: 'node', labels: { [BUILTIN_LABEL]: 'true' } }, spec: { protocol: 'kiln', image: 'reg/kiln/runtime-node:0.1.0', language: 'node', poolSize: 3, port: 8888 } })
  })

  it.each([['not JSON', '['], ['a list', '[]'], ['a bad spec', '{"node":{"poolSize":-1}}'], ['a bad name', '{"Node":{"image":"x"}}']])('refuses %s', (_w, json) => {
    expect(() => parseRuntimes(json)).toThrow(KilnError)
  })

  it('creates missing runtimes, sets the chart\'s fields back, keeps the rest, and writes nothing when all match', async () => {
    const store = new CachedStore<RuntimeResource>('Runtime')
    await store.put({ metadata: { name: 'node', labels: { team: 'a' } }, spec: { image: 'old:1', poolSize: 9, env: { X: '1' } } })
    await store.put({ metadata: { name: 'custom' }, spec: { image: 'mine:1', poolSize: 2 } })
    const list = parseRuntimes(CHART)
    expect(await registerRuntimes(store, list, silentLogger)).toEqual(['node', 'python'])
    expect(store.get('node')!.spec).toEqual({ protocol: 'kiln', image: 'reg/kiln/runtime-node:0.1.0', poolSize: 3, language: 'node', port: 8888 })
    expect(store.get('node')!.metadata.labels).toEqual({ team: 'a', [BUILTIN_LABEL]: 'true' })
    expect(store.get('python')!.spec.image).toBe('reg/kiln/runtime-python:0.1.0')
    expect(store.get('custom')!.spec).toEqual({ image: 'mine:1', poolSize: 2 })
    expect(await registerRuntimes(store, list, silentLogger)).toEqual([])
  })
})
