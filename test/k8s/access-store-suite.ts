// One behaviour suite for each of the two stores behind identity and secrets, run against both
// implementations (files in the data dir; Kubernetes Secrets): tokens (hashed) and Kiln secrets.
import { expect, it } from 'vitest'
import { newToken } from '../../core/auth/token.js'
import type { SecretEvent, SecretStore } from '../../core/store/secret-store.js'
import type { TokenStore } from '../../core/store/token-store.js'
import { waitUntil } from './wait.js'

export interface TokenStoreUnderTest {
  store: TokenStore
  /** Another view of the same state (a restarted platform, another replica). */
  reopen(): Promise<TokenStore>
  /** The first admin token as published for operators (admin.token, the kiln-admin-token Secret). */
  published(): Promise<string | undefined>
  close(): Promise<void>
}

export function tokenStoreSuite(open: () => Promise<TokenStoreUnderTest>): void {
  const use = async (fn: (t: TokenStoreUnderTest) => Promise<void>) => {
    const t = await open()
    try { await fn(t) } finally { await t.close() }
  }

  it('stores the hash, never the token; get, list and delete by id; another view reads the same', () => use(async (t) => {
    const { token, record } = newToken({ role: 'developer', namespaces: ['team-a'], name: 'ci' })
    await t.store.create(record)
    expect(t.store.get(record.id)).toEqual(record)
    expect(JSON.stringify(t.store.list())).not.toContain(token.slice(16))
    await expect(t.store.create(record)).rejects.toMatchObject({ code: 'KILN_ERR_ALREADY_EXISTS' })
    const other = await t.reopen()
    await waitUntil('the other view sees it', async () => other.get(record.id) !== undefined)
    expect(await t.store.delete(record.id)).toBe(true)
    expect(t.store.get(record.id)).toBeUndefined()
    expect(await t.store.delete(record.id)).toBe(false)
    await other.close()
  }))

  it('the first admin token is stored and published where operators find it', () => use(async (t) => {
    const { token, record } = newToken({ role: 'admin', namespaces: ['*'] })
    const r = await t.store.createInitialAdmin(record, token)
    expect(r.created).toBe(true)
    expect(t.store.get(record.id)?.role).toBe('admin')
    expect(await t.published()).toBe(token)
  }))

  it('touch records the last use (at most once a minute)', () => use(async (t) => {
    const { record } = newToken({ role: 'viewer', namespaces: ['default'] })
    await t.store.create(record)
    const at = new Date()
    t.store.touch(record.id, at)
    await waitUntil('lastUsedAt', async () => t.store.get(record.id)?.lastUsedAt === at.toISOString())
    t.store.touch(record.id, new Date(at.getTime() + 1000))
    await new Promise((r) => setTimeout(r, 200))
    expect(t.store.get(record.id)?.lastUsedAt).toBe(at.toISOString())
  }))
}

export interface SecretStoreUnderTest { store: SecretStore; reopen(): Promise<SecretStore>; close(): Promise<void> }

const data = (o: Record<string, string>) => new Map(Object.entries(o).map(([k, v]) => [k, Buffer.from(v)]))

export function secretStoreSuite(open: () => Promise<SecretStoreUnderTest>): void {
  const use = async (fn: (t: SecretStoreUnderTest) => Promise<void>) => {
    const t = await open()
    try { await fn(t) } finally { await t.close() }
  }

  it('create: the info names keys and sizes, never values; values() gives the bytes; a second create is KILN_ERR_ALREADY_EXISTS', () => use(async (t) => {
    const info = await t.store.put('team-a/db', data({ password: 's3cr3t-value', 'user.name': 'ada' }), 'create')
    expect(info).toMatchObject({ namespace: 'team-a', name: 'db', keys: [{ key: 'password', bytes: 12 }, { key: 'user.name', bytes: 3 }] })
    expect(JSON.stringify(t.store.list())).not.toContain('s3cr3t-value')
    expect(t.store.values('team-a/db')?.get('password')?.toString()).toBe('s3cr3t-value')
    await expect(t.store.put('team-a/db', data({ x: '1' }), 'create')).rejects.toMatchObject({ code: 'KILN_ERR_ALREADY_EXISTS' })
    expect(t.store.values('team-a/db')?.get('password')?.toString()).toBe('s3cr3t-value')
  }))

  it('update replaces the keys and changes the version; update of a missing secret is KILN_ERR_SECRET_NOT_FOUND', () => use(async (t) => {
    const a = await t.store.put('db', data({ password: 'one' }), 'create')
    const b = await t.store.put('db', data({ password: 'two', extra: 'x' }), 'update')
    expect(b.version).not.toBe(a.version)
    expect([...t.store.values('db')!.keys()].sort()).toEqual(['extra', 'password'])
    expect(t.store.values('db')?.get('password')?.toString()).toBe('two')
    await expect(t.store.put('ghost', data({ a: 'b' }), 'update')).rejects.toMatchObject({ code: 'KILN_ERR_SECRET_NOT_FOUND' })
  }))

  it('one name in two namespaces is two secrets; delete removes one; watch reports each change once', () => use(async (t) => {
    const seen: string[] = []
    t.store.watch((ev: SecretEvent) => seen.push(`${ev.type}:${ev.ref}`))
    await t.store.put('api', data({ k: 'default-value' }), 'create')
    await t.store.put('team-b/api', data({ k: 'team-b-value' }), 'create')
    expect(t.store.values('api')?.get('k')?.toString()).toBe('default-value')
    expect(t.store.values('team-b/api')?.get('k')?.toString()).toBe('team-b-value')
    expect(await t.store.delete('team-b/api')).toBe(true)
    expect(t.store.get('team-b/api')).toBeUndefined()
    expect(await t.store.delete('team-b/api')).toBe(false)
    await new Promise((r) => setTimeout(r, 300))
    expect(seen).toEqual(['put:api', 'put:team-b/api', 'delete:team-b/api'])
  }))

  it('bad keys, no keys and more than 1 MiB are KILN_ERR_VALIDATION; nothing is stored', () => use(async (t) => {
    for (const bad of [data({ 'no/slash': 'x' }), data({ '..': 'x' }), new Map<string, Buffer>(), new Map([['big', Buffer.alloc(1024 * 1024 + 1)]])]) {
      await expect(t.store.put('bad', bad, 'create')).rejects.toMatchObject({ code: 'KILN_ERR_VALIDATION' })
    }
    expect(t.store.get('bad')).toBeUndefined()
  }))

  it('another view (a restart, another replica) reads the same values', () => use(async (t) => {
    await t.store.put('team-c/cfg', data({ url: 'postgres://x' }), 'create')
    const other = await t.reopen()
    await waitUntil('the other view sees it', async () => other.get('team-c/cfg') !== undefined)
    expect(other.values('team-c/cfg')?.get('url')?.toString()).toBe('postgres://x')
    await other.close()
  }))
}
