// The resource store suite against both implementations: files in a data dir (the embedded default)
// and custom resources on a real kube-apiserver (Kubernetes mode), plus what only the CRD store does:
// see writes made by others (kubectl) through its watch, and survive a restart of its informer.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { crdStore } from '../../core/store/crd-store.js'
import { fileStore } from '../../core/store/file-store.js'
import { readdir } from 'node:fs/promises'
import type { CronTriggerResource, HTTPTriggerResource, QueueTriggerResource, RuntimeResource } from '../../core/types.js'
import { startControlPlane, type ControlPlane } from './controlplane/controlplane.js'
import { kubectlOk } from './controlplane/kubectl.js'
import { BUILD_TIMEOUT_MS, DEPLOY, ensureBinaries, K8S, plan } from './setup.js'
import { namespacedStoreSuite, storeSuite } from './store-suite.js'
import { waitUntil } from './wait.js'

describe('file store', () => {
  storeSuite(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-store-'))
    const store = await fileStore<RuntimeResource>(dir, 'Runtime')
    // Nothing writes this store but the store itself, whose events go out before its writes resolve.
    return { store, settle: async () => {}, close: () => rm(dir, { recursive: true, force: true }) }
  })
  describe('a namespaced kind', () => {
    namespacedStoreSuite(async () => {
      const dir = await mkdtemp(join(tmpdir(), 'kiln-store-'))
      const store = await fileStore<HTTPTriggerResource>(dir, 'HTTPTrigger')
      return { store, close: () => rm(dir, { recursive: true, force: true }) }
    })
  })

  it('default-namespace files stay where they were; others go in a folder per namespace; a reopened store reads both', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-store-'))
    try {
      const s = await fileStore<HTTPTriggerResource>(dir, 'HTTPTrigger')
      await s.create({ metadata: { name: 'one' }, spec: { method: 'GET', path: '/one', function: 'f' } })
      await s.create({ metadata: { name: 'one', namespace: 'team-a' }, spec: { method: 'GET', path: '/two', function: 'f' } })
      const base = join(dir, 'resources', 'httptrigger')
      expect((await readdir(base)).sort()).toEqual(['one.json', 'team-a'])
      expect(await readdir(join(base, 'team-a'))).toEqual(['one.json'])
      const again = await fileStore<HTTPTriggerResource>(dir, 'HTTPTrigger')
      expect(again.list().map((t) => [t.metadata.namespace, t.metadata.name, t.spec.path])).toEqual([['default', 'one', '/one'], ['team-a', 'one', '/two']])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('CRD store on a real kube-apiserver', K8S, () => {
  let cp: ControlPlane
  let kc: KubeConfig
  let seq = 0

  beforeAll(async () => {
    await ensureBinaries()
    cp = await startControlPlane({ controllerManager: false, scheduler: false })
    kc = new KubeConfig()
    kc.loadFromFile(cp.kubeconfigPath)
    await kubectlOk(cp.kubeconfigPath, ['apply', '-f', join(DEPLOY, 'crds')])
    await kubectlOk(cp.kubeconfigPath, ['wait', '--for=condition=Established', '--timeout=60s', '-f', join(DEPLOY, 'crds')])
  }, BUILD_TIMEOUT_MS)

  afterAll(async () => { await cp?.stop() })

  const fresh = async () => {
    const namespace = `store-${++seq}`
    await kubectlOk(cp.kubeconfigPath, ['create', 'namespace', namespace])
    return { namespace, store: await crdStore<RuntimeResource>(kc, 'Runtime', { namespace }) }
  }

  describe('the shared suite', () => {
    storeSuite(async () => {
      const { namespace, store } = await fresh()
      let markers = 0
      // A write made past the store (as kubectl would): the watch delivers events in order, so once it
      // has delivered this one, it has delivered every echo of the store's own earlier writes.
      const settle = async () => {
        const name = `settle-${++markers}`
        await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({ group: 'kiln.dev', version: 'v1', namespace, plural: 'runtimes', body: { apiVersion: 'kiln.dev/v1', kind: 'Runtime', metadata: { name }, spec: { image: 'x:1' } } })
        await waitUntil(`the watch to deliver ${name}`, async () => store.get(name) !== undefined)
      }
      return { store, settle, close: () => store.close() }
    })
  })

  describe('the shared suite, a namespaced kind', () => {
    namespacedStoreSuite(async () => {
      const namespace = `store-${++seq}`
      await kubectlOk(cp.kubeconfigPath, ['create', 'namespace', namespace])
      const store = await crdStore<HTTPTriggerResource>(kc, 'HTTPTrigger', { namespace })
      return { store, close: () => store.close() }
    })
  })

  it('a Kiln namespace other than default is a label and a name that cannot collide, all in Kiln\'s one Kubernetes namespace', async () => {
    const namespace = `store-${++seq}`
    await kubectlOk(cp.kubeconfigPath, ['create', 'namespace', namespace])
    const store = await crdStore<HTTPTriggerResource>(kc, 'HTTPTrigger', { namespace })
    try {
      await store.create({ metadata: { name: 'hello' }, spec: { method: 'GET', path: '/a', function: 'f' } })
      await store.create({ metadata: { name: 'hello', namespace: 'team-a' }, spec: { method: 'GET', path: '/b', function: 'f' } })
      const objs = JSON.parse(await kubectlOk(cp.kubeconfigPath, ['get', 'httptriggers.kiln.dev', '-n', namespace, '-o', 'json'])).items
      expect(objs.map((o: any) => [o.metadata.name, o.metadata.labels?.['kiln.dev/namespace'] ?? null]).sort()).toEqual([['hello', null], ['team-a.hello', 'team-a']])
      // Another view of the same objects (a restarted replica) reads them back as refs.
      const again = await crdStore<HTTPTriggerResource>(kc, 'HTTPTrigger', { namespace })
      expect(again.get('team-a/hello')?.metadata).toMatchObject({ name: 'hello', namespace: 'team-a' })
      expect(again.get('team-a/hello')?.metadata.labels).toBeUndefined()
      await again.close()
    } finally {
      await store.close()
    }
  })

  it('a cron trigger in team-a is the object team-a.NAME labelled with its namespace, read back by its ref', async () => {
    const namespace = `store-${++seq}`
    await kubectlOk(cp.kubeconfigPath, ['create', 'namespace', namespace])
    const store = await crdStore<CronTriggerResource>(kc, 'CronTrigger', { namespace })
    try {
      await store.create({ metadata: { name: 'nightly', namespace: 'team-a' }, spec: { function: 'report', schedule: '0 3 * * *', timezone: 'Asia/Seoul' } })
      await store.create({ metadata: { name: 'nightly' }, spec: { function: 'report', schedule: '@every 1m' } })
      const objs = JSON.parse(await kubectlOk(cp.kubeconfigPath, ['get', 'crontriggers.kiln.dev', '-n', namespace, '-l', 'kiln.dev/namespace=team-a', '-o', 'json'])).items
      expect(objs.map((o: any) => [o.metadata.name, o.spec.schedule])).toEqual([['team-a.nightly', '0 3 * * *']])
      const again = await crdStore<CronTriggerResource>(kc, 'CronTrigger', { namespace })
      expect(again.get('team-a/nightly')?.metadata).toMatchObject({ name: 'nightly', namespace: 'team-a' })
      expect(again.get('nightly')?.spec.schedule).toBe('@every 1m')
      await again.close()
      expect((await store.delete('team-a/nightly'))?.metadata.name).toBe('nightly')
      expect(store.get('nightly')).toBeDefined()
    } finally {
      await store.close()
    }
  })

  it('a queue trigger in team-a is the object team-a.NAME labelled with its namespace, read back by its ref', async () => {
    const namespace = `store-${++seq}`
    await kubectlOk(cp.kubeconfigPath, ['create', 'namespace', namespace])
    const store = await crdStore<QueueTriggerResource>(kc, 'QueueTrigger', { namespace })
    try {
      await store.create({ metadata: { name: 'orders', namespace: 'team-a' }, spec: { kind: 'nats', url: 'nats://nats:4222', topic: 'orders.a', function: 'process' } })
      await store.create({ metadata: { name: 'orders' }, spec: { kind: 'redis-stream', url: 'redis://redis:6379', topic: 'orders', function: 'process' } })
      const objs = JSON.parse(await kubectlOk(cp.kubeconfigPath, ['get', 'queuetriggers.kiln.dev', '-n', namespace, '-l', 'kiln.dev/namespace=team-a', '-o', 'json'])).items
      expect(objs.map((o: any) => [o.metadata.name, o.spec.topic])).toEqual([['team-a.orders', 'orders.a']])
      const again = await crdStore<QueueTriggerResource>(kc, 'QueueTrigger', { namespace })
      expect(again.get('team-a/orders')?.metadata).toMatchObject({ name: 'orders', namespace: 'team-a' })
      expect(again.get('orders')?.spec.kind).toBe('redis-stream')
      await again.close()
      expect((await store.delete('team-a/orders'))?.metadata.name).toBe('orders')
      expect(store.get('orders')).toBeDefined()
    } finally {
      await store.close()
    }
  })

  it('a resource written with kubectl appears through the watch, and its deletion too', async () => {
    const { namespace, store } = await fresh()
    const events: string[] = []
    store.watch((ev) => events.push(`${ev.type}:${ev.object.metadata.name}`))
    const obj = { apiVersion: 'kiln.dev/v1', kind: 'Runtime', metadata: { name: 'outside', namespace }, spec: { image: 'x:1', poolSize: 2 } }
    await kubectlOk(cp.kubeconfigPath, ['apply', '-f', '-'], { input: JSON.stringify(obj) })
    await waitUntil('watch put', async () => store.get('outside')?.spec.poolSize === 2)
    await kubectlOk(cp.kubeconfigPath, ['delete', 'runtime', 'outside', '-n', namespace])
    await waitUntil('watch delete', async () => store.get('outside') === undefined)
    expect(events).toEqual(['put:outside', 'delete:outside'])
    await store.close()
  })

  it('a relist reports what the view missed', async () => {
    const { namespace, store } = await fresh()
    await store.close() // no watch any more: changes are missed
    await kubectlOk(cp.kubeconfigPath, ['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'kiln.dev/v1', kind: 'Runtime', metadata: { name: 'missed', namespace }, spec: { image: 'x:1' } }) })
    expect(store.get('missed')).toBeUndefined()
    await store.relist()
    expect(store.get('missed')?.spec.image).toBe('x:1')
  })

  it('the API server\'s validation errors come back as KILN_ERR_VALIDATION', async () => {
    const { store } = await fresh()
    await expect(store.create({ metadata: { name: 'bad' }, spec: { poolSize: -1 } } as RuntimeResource)).rejects.toMatchObject({ code: 'KILN_ERR_VALIDATION' })
    await store.close()
  })
})
