// Tokens: their form, what is stored of them, and how a request's Authorization header is checked.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Authenticator } from '../../../core/auth/authenticate.js'
import { hashSecret, newToken, parseToken, secretMatches } from '../../../core/auth/token.js'
import { KilnError } from '../../../core/errors.js'
import { fileTokenStore } from '../../../core/store/token-store.js'

const dirs: string[] = []
afterEach(async () => { for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true }) })
async function store() {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-tokens-'))
  dirs.push(dir)
  return fileTokenStore(dir)
}

describe('tokens', () => {
  it('are kiln_<10-char id>_<43-char secret>; the record keeps sha256(secret) only', () => {
    const { token, record } = newToken({ role: 'developer', namespaces: ['team-a'] })
    expect(token).toMatch(/^kiln_[a-z0-9]{10}_[A-Za-z0-9_-]{43}$/)
    const parts = parseToken(token)!
    expect(parts.id).toBe(record.id)
    expect(record.hash).toBe(hashSecret(parts.secret))
    expect(JSON.stringify(record)).not.toContain(parts.secret)
    expect(secretMatches(parts.secret, record.hash)).toBe(true)
    expect(secretMatches(parts.secret.slice(1) + 'A', record.hash)).toBe(false)
    expect(parseToken('kiln_abc_def')).toBeUndefined()
    expect(newToken({ role: 'viewer', namespaces: ['x'] }).token).not.toBe(newToken({ role: 'viewer', namespaces: ['x'] }).token)
  })
})

describe('Authenticator', () => {
  const code = (r: unknown) => (r instanceof KilnError ? r.code : 'ok')

  it('no header, another scheme, an unknown, altered, revoked or expired token: KILN_ERR_UNAUTHENTICATED', async () => {
    const s = await store()
    const auth = new Authenticator(s)
    const good = newToken({ role: 'developer', namespaces: ['team-a'] })
    const expired = newToken({ role: 'admin', namespaces: ['*'], expiresAt: new Date(Date.now() - 1000).toISOString() })
    await s.create(good.record)
    await s.create(expired.record)
    expect(code(auth.identify(undefined))).toBe('KILN_ERR_UNAUTHENTICATED')
    expect(code(auth.identify(`Basic ${good.token}`))).toBe('KILN_ERR_UNAUTHENTICATED')
    expect(code(auth.identify(`Bearer ${newToken({ role: 'admin', namespaces: ['*'] }).token}`))).toBe('KILN_ERR_UNAUTHENTICATED')
    expect(code(auth.identify(`Bearer ${good.token.slice(0, -1)}${good.token.endsWith('A') ? 'B' : 'A'}`))).toBe('KILN_ERR_UNAUTHENTICATED')
    expect(code(auth.identify(`Bearer ${expired.token}`))).toBe('KILN_ERR_UNAUTHENTICATED')
    expect(auth.identify(`Bearer ${good.token}`)).toMatchObject({ id: good.record.id, role: 'developer', namespaces: ['team-a'] })
    expect(auth.identify(`bearer   ${good.token}`)).toMatchObject({ id: good.record.id })
    await s.delete(good.record.id)
    expect(code(auth.identify(`Bearer ${good.token}`))).toBe('KILN_ERR_UNAUTHENTICATED')
  })

  it('the platform\'s own token is an invoker in every namespace, and differs per platform', async () => {
    const a = new Authenticator(await store())
    const b = new Authenticator(await store())
    expect(a.identify(`Bearer ${a.internalToken}`)).toMatchObject({ id: 'internal', role: 'invoker', namespaces: ['*'] })
    expect(code(a.identify(`Bearer ${b.internalToken}`))).toBe('KILN_ERR_UNAUTHENTICATED')
  })
})
