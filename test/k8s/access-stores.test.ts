// The token store and the secret store, each one suite against both implementations: files in the
// data dir (the embedded default) and Kubernetes Secrets on a real kube-apiserver. Plus what only
// one side does: the files' modes and encryption at rest, the Secrets' names and labels.
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { KubeConfig } from '@kubernetes/client-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_TOKEN_SECRET, kubeTokenStore } from '../../core/store/kube-token-store.js'
import { kubeSecretStore } from '../../core/store/kube-secret-store.js'
import { fileSecretStore } from '../../core/store/secret-store.js'
import { fileTokenStore } from '../../core/store/token-store.js'
import { startControlPlane, type ControlPlane } from './controlplane/controlplane.js'
import { kubectlOk } from './controlplane/kubectl.js'
import { BUILD_TIMEOUT_MS, ensureBinaries, plan } from './setup.js'
import { secretStoreSuite, tokenStoreSuite } from './access-store-suite.js'

async function tempDir(): Promise<string> { return mkdtemp(join(tmpdir(), 'kiln-access-')) }

describe('file stores', () => {
  describe('tokens', () => {
    tokenStoreSuite(async () => {
      const dir = await tempDir()
      const store = await fileTokenStore(dir)
      const views: { close(): Promise<void> }[] = []
      return {
        store,
        reopen: async () => { await store.close(); const v = await fileTokenStore(dir); views.push(v); return v },
        published: () => readFile(join(dir, 'admin.token'), 'utf8').then((t) => t.trim(), () => undefined),
        close: async () => { await store.close(); await rm(dir, { recursive: true, force: true }) },
      }
    })
  })

  describe('secrets', () => {
    secretStoreSuite(async () => {
      const dir = await tempDir()
      const store = await fileSecretStore(dir)
      return { store, reopen: async () => { await store.close(); return fileSecretStore(dir) }, close: async () => { await store.close(); await rm(dir, { recursive: true, force: true }) } }
    })
  })

  it('tokens.json, admin.token, secrets.key and every secret file are 0600 (folders 0700); a value is not in any file in clear', async () => {
    const dir = await tempDir()
    try {
      const tokens = await fileTokenStore(dir)
      const { newToken } = await import('../../core/auth/token.js')
      const { token, record } = newToken({ role: 'admin', namespaces: ['*'] })
      await tokens.createInitialAdmin(record, token)
      const secrets = await fileSecretStore(dir)
      await secrets.put('team-a/db', new Map([['password', Buffer.from('plain-text-secret-value')]]), 'create')
      for (const f of ['tokens.json', 'admin.token', 'secrets.key', 'secrets/team-a/db.json']) expect((await stat(join(dir, f))).mode & 0o777, f).toBe(0o600)
      for (const d of ['secrets', 'secrets/team-a']) expect((await stat(join(dir, d))).mode & 0o777, d).toBe(0o700)
      const everything = await readAll(dir)
      expect(everything).not.toContain('plain-text-secret-value')
      expect(everything).not.toContain(Buffer.from('plain-text-secret-value').toString('base64'))
      // The token itself is in admin.token only (published for the operator), never in tokens.json.
      expect(await readFile(join(dir, 'tokens.json'), 'utf8')).not.toContain(token.slice(16))
      expect((await readFile(join(dir, 'admin.token'), 'utf8')).trim()).toBe(token)
      await tokens.close()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('a sealed value moved into another secret\'s file, or altered, does not decrypt (namespace, name and key are bound to it)', async () => {
    const dir = await tempDir()
    try {
      const s = await fileSecretStore(dir)
      await s.put('team-a/db', new Map([['password', Buffer.from('one')]]), 'create')
      await s.put('team-b/db', new Map([['password', Buffer.from('two')]]), 'create')
      const a = JSON.parse(await readFile(join(dir, 'secrets/team-a/db.json'), 'utf8'))
      const b = JSON.parse(await readFile(join(dir, 'secrets/team-b/db.json'), 'utf8'))
      await writeFile(join(dir, 'secrets/team-b/db.json'), JSON.stringify({ ...b, data: { password: a.data.password } }))
      const moved = await fileSecretStore(dir)
      expect(() => moved.values('team-b/db')).toThrow(/does not decrypt/)
      const parts = a.data.password.split('.')
      parts[3] = Buffer.from('xxx').toString('base64url')
      await writeFile(join(dir, 'secrets/team-a/db.json'), JSON.stringify({ ...a, data: { password: parts.join('.') } }))
      expect(() => moved.values('team-a/db')).not.toThrow()
      const altered = await fileSecretStore(dir)
      expect(() => altered.values('team-a/db')).toThrow(/does not decrypt/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

async function readAll(dir: string): Promise<string> {
  let out = ''
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out += (await readFile(join(e.parentPath, e.name))).toString('latin1')
  }
  return out
}

describe.skipIf(!plan.run)('Kubernetes Secrets on a real kube-apiserver', () => {
  let cp: ControlPlane
  let kc: KubeConfig
  let seq = 0

  beforeAll(async () => {
    await ensureBinaries()
    cp = await startControlPlane({ controllerManager: false, scheduler: false })
    kc = new KubeConfig()
    kc.loadFromFile(cp.kubeconfigPath)
  }, BUILD_TIMEOUT_MS)

  afterAll(async () => { await cp?.stop() })

  const fresh = async () => {
    const namespace = `access-${++seq}`
    await kubectlOk(cp.kubeconfigPath, ['create', 'namespace', namespace])
    return namespace
  }

  describe('tokens', () => {
    tokenStoreSuite(async () => {
      const namespace = await fresh()
      const store = await kubeTokenStore(kc, { namespace })
      const views: { close(): Promise<void> }[] = []
      return {
        store,
        reopen: async () => { const v = await kubeTokenStore(kc, { namespace }); views.push(v); return v },
        published: async () => {
          const s = JSON.parse(await kubectlOk(cp.kubeconfigPath, ['get', 'secret', ADMIN_TOKEN_SECRET, '-n', namespace, '-o', 'json']))
          return Buffer.from(s.data.token, 'base64').toString('utf8')
        },
        close: async () => { await store.close(); for (const v of views) await v.close() },
      }
    })
  })

  describe('secrets', () => {
    secretStoreSuite(async () => {
      const namespace = await fresh()
      const store = await kubeSecretStore(kc, { namespace })
      const views: { close(): Promise<void> }[] = []
      return {
        store,
        reopen: async () => { const v = await kubeSecretStore(kc, { namespace }); views.push(v); return v },
        close: async () => { await store.close(); for (const v of views) await v.close() },
      }
    })
  })

  it('a second replica\'s first admin token loses the race: one Secret, one admin token', async () => {
    const namespace = await fresh()
    const { newToken } = await import('../../core/auth/token.js')
    const [a, b] = await Promise.all([kubeTokenStore(kc, { namespace }), kubeTokenStore(kc, { namespace })])
    const ta = newToken({ role: 'admin', namespaces: ['*'] })
    const tb = newToken({ role: 'admin', namespaces: ['*'] })
    const results = await Promise.all([a.createInitialAdmin(ta.record, ta.token), b.createInitialAdmin(tb.record, tb.token)])
    expect(results.map((r) => r.created).sort()).toEqual([false, true])
    const tokens = JSON.parse(await kubectlOk(cp.kubeconfigPath, ['get', 'secrets', '-n', namespace, '-l', 'kiln.dev/token', '-o', 'json'])).items
    expect(tokens).toHaveLength(1)
    await a.close()
    await b.close()
  })

  it('a Kiln secret is a Kubernetes Secret named from its ref, labelled, with its keys as data keys', async () => {
    const namespace = await fresh()
    const s = await kubeSecretStore(kc, { namespace })
    await s.put('team-a/db', new Map([['password', Buffer.from('pw')]]), 'create')
    const obj = JSON.parse(await kubectlOk(cp.kubeconfigPath, ['get', 'secret', 'kiln-secret-team-a.db', '-n', namespace, '-o', 'json']))
    expect(obj.metadata.labels).toMatchObject({ 'kiln.dev/secret': 'true', 'kiln.dev/namespace': 'team-a' })
    expect(Buffer.from(obj.data.password, 'base64').toString()).toBe('pw')
    await s.close()
  })
})
