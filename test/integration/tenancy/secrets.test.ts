// Secrets end to end on a real platform: created through the API, handed to the instances of the
// functions that list them (files NAME/KEY, and variables), rolled into them when they change, and
// never returned: not by any API answer, not in the platform's log at debug level, not at rest in the
// data dir (only in the running instance's own folder of files).
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildNodeRuntime } from '../../helpers/build-runtime.js'
import { startTestPlatform, type TestPlatform } from '../../helpers/platform.js'
import { as, createNamespace, tokenFor } from '../../helpers/tenancy.js'
import { until } from '../../helpers/until.js'

const INSPECT = join(import.meta.dirname, '..', '..', 'fixtures', 'tenancy', 'inspect.mjs')
const PASSWORD = 'correct-horse-battery-staple-7c1f'
const ROTATED = 'rotated-value-of-the-db-password-9e2a'
const b64 = (s: string) => Buffer.from(s).toString('base64')

describe('secrets', () => {
  let p: TestPlatform
  const log: string[] = []

  beforeAll(async () => {
    await buildNodeRuntime()
    const sink = new Writable({ write(chunk, _enc, cb) { log.push(String(chunk)); cb() } })
    p = await startTestPlatform({ poolSize: 1, cgroups: 'none' }, undefined, { logger: pino({ level: 'debug' }, sink) })
    await createNamespace(p, 'team-a')
    await createNamespace(p, 'team-b')
  }, 60_000)
  afterAll(async () => { await p?.stop() })

  const api = (method: string, path: string, body?: unknown, token = p.adminToken) => as(p, token, method, path, body)

  it('a function reads each key as a file and the keys it maps as variables; a function without them sees none', async () => {
    const made = await api('POST', '/v1/secrets?namespace=team-a', { metadata: { name: 'db' }, data: { password: b64(PASSWORD) }, stringData: { user: 'ada' } })
    expect(made.status).toBe(201)
    expect(made.json()).toMatchObject({ metadata: { name: 'db', namespace: 'team-a' }, keys: [{ key: 'password', bytes: PASSWORD.length }, { key: 'user', bytes: 3 }], usedBy: [] })
    await p.deploy('reader', INSPECT, { secrets: ['db'], secretEnv: [{ secret: 'db', key: 'password', env: 'DB_PASSWORD' }] }, 'team-a')
    await p.deploy('bystander', INSPECT, {}, 'team-a')
    const seen = (await as(p, undefined, 'GET', '/ns/team-a/fn/reader?env=DB_PASSWORD')).json()
    expect(seen.secrets).toEqual({ 'db/password': PASSWORD, 'db/user': 'ada' })
    expect(seen.env).toEqual({ DB_PASSWORD: PASSWORD })
    const other = (await as(p, undefined, 'GET', '/ns/team-a/fn/bystander?env=DB_PASSWORD')).json()
    expect(other).toMatchObject({ secrets: {}, env: { DB_PASSWORD: null }, secretsDir: null })
  })

  it('no answer of the API, no line of the platform\'s log and no file at rest holds a value', async () => {
    const viewer = await tokenFor(p, 'viewer', ['team-a'])
    const answers = await Promise.all([
      api('GET', '/v1/secrets?namespace=team-a'), api('GET', '/v1/secrets/db?namespace=team-a'), api('GET', '/v1/secrets?namespace=*'),
      api('GET', '/v1/functions/reader?namespace=team-a'), api('GET', '/v1/functions?namespace=*'), api('GET', '/v1/events?namespace=*'),
      api('GET', '/v1/instances'), api('GET', '/v1/nodes'), api('GET', '/v1/secrets/db?namespace=team-a', undefined, viewer),
      api('GET', '/v1/functions/reader/logs?namespace=team-a'),
    ])
    for (const a of answers) {
      expect(a.status).toBe(200)
      expect(a.text).not.toContain(PASSWORD)
      expect(a.text).not.toContain(b64(PASSWORD))
    }
    expect((await api('GET', '/v1/secrets/db?namespace=team-a')).json().usedBy).toEqual(['reader'])
    expect(log.join('')).not.toContain(PASSWORD)
    // At rest: sealed in secrets/; in clear only in the running instance's folder of secret files.
    const holders: string[] = []
    for (const e of await readdir(p.dataDir, { withFileTypes: true, recursive: true })) {
      if (!e.isFile()) continue
      const f = join(e.parentPath, e.name)
      const text = (await readFile(f)).toString('latin1')
      if (text.includes(PASSWORD) || text.includes(b64(PASSWORD))) holders.push(f.slice(p.dataDir.length + 1))
    }
    expect(holders.length).toBeGreaterThan(0)
    for (const h of holders) expect(h).toMatch(/^run\/secrets\/[^/]+\/db\/password$/)
  })

  it('an update rolls the functions that use it: when the answer comes, they serve the new value', async () => {
    const upd = await api('PUT', '/v1/secrets/db?namespace=team-a', { metadata: { name: 'db' }, stringData: { password: ROTATED, user: 'ada' } })
    expect(upd.status).toBe(200)
    const seen = (await as(p, undefined, 'GET', '/ns/team-a/fn/reader?env=DB_PASSWORD')).json()
    expect(seen.env.DB_PASSWORD).toBe(ROTATED)
    expect(seen.secrets['db/password']).toBe(ROTATED)
    expect(upd.text).not.toContain(ROTATED)
  })

  it('a function may list only its own namespace\'s secrets and existing keys; bad secrets are refused and leave nothing', async () => {
    const deployB = p.deploy('thief', INSPECT, { secrets: ['db'] }, 'team-b')
    await expect(deployB).rejects.toThrow(/400.*KILN_ERR_VALIDATION.*spec\.secrets: no secret .*team-b/)
    await expect(p.deploy('typo', INSPECT, { secretEnv: [{ secret: 'db', key: 'passwd', env: 'X' }] }, 'team-a')).rejects.toThrow(/400.*KILN_ERR_VALIDATION.*no key .*passwd/)
    await expect(p.deploy('clash', INSPECT, { env: { X: '1' }, secretEnv: [{ secret: 'db', key: 'user', env: 'X' }] }, 'team-a')).rejects.toThrow(/400.*X is set twice/)
    for (const bad of [{ metadata: { name: 'Bad' }, stringData: { a: 'b' } }, { metadata: { name: 'x' }, data: { a: 'not base64!' } }, { metadata: { name: 'x' } }, { metadata: { name: 'x' }, stringData: { '../k': 'v' } }]) {
      const r = await api('POST', '/v1/secrets?namespace=team-a', bad)
      expect(r.json().error).toBe('KILN_ERR_VALIDATION')
      expect(r.text).not.toContain('not base64!')
    }
    expect((await api('GET', '/v1/secrets?namespace=team-a')).json().map((s: any) => s.metadata.name)).toEqual(['db'])
    expect((await api('POST', '/v1/secrets?namespace=team-a', { metadata: { name: 'db' }, stringData: { a: 'b' } })).json().error).toBe('KILN_ERR_ALREADY_EXISTS')
    expect((await api('PUT', '/v1/secrets/nope?namespace=team-a', { stringData: { a: 'b' } })).json().error).toBe('KILN_ERR_SECRET_NOT_FOUND')
    // A viewer reads names and keys; only developers and admins write.
    const viewer = await tokenFor(p, 'viewer', ['team-a'])
    expect((await api('POST', '/v1/secrets', { metadata: { name: 'v' }, stringData: { a: 'b' } }, viewer)).json().error).toBe('KILN_ERR_FORBIDDEN')
  })

  it('a secret removed behind the API (a kubectl delete) fails the function\'s loads with 502, not naming the secret to callers', async () => {
    expect((await api('POST', '/v1/secrets?namespace=team-a', { metadata: { name: 'ephemeral-key' }, stringData: { k: 'v' } })).status).toBe(201)
    await p.deploy('orphan', INSPECT, { secretEnv: [{ secret: 'ephemeral-key', key: 'k', env: 'K' }] }, 'team-a')
    expect((await as(p, undefined, 'GET', '/ns/team-a/fn/orphan?env=K')).json().env).toEqual({ K: 'v' })
    await p.ctx.secrets.delete('team-a/ephemeral-key')
    const r = await until('the function rolled off its old instance', async () => {
      const a = await as(p, undefined, 'GET', '/ns/team-a/fn/orphan?env=K')
      return a.status === 502 ? a : undefined
    })
    expect(r.json().error).toBe('KILN_ERR_SPECIALIZE_FAILED')
    expect(r.text).not.toContain('ephemeral-key')
  })

  it('a secret in use is deleted only with cascade, which takes it out of its functions; their files go with it', async () => {
    const refused = await api('DELETE', '/v1/secrets/db?namespace=team-a')
    expect(refused.status).toBe(409)
    expect(refused.json().message).toContain('"reader"')
    const gone = await api('DELETE', '/v1/secrets/db?namespace=team-a&cascade=1')
    expect(gone.json()).toEqual({ deleted: 'db', namespace: 'team-a', removedFrom: ['reader'] })
    const fn = (await api('GET', '/v1/functions/reader?namespace=team-a')).json()
    expect(fn.spec.secrets).toBeUndefined()
    expect(fn.spec.secretEnv).toBeUndefined()
    expect((await as(p, undefined, 'GET', '/ns/team-a/fn/reader?env=DB_PASSWORD')).json()).toMatchObject({ secrets: {}, env: { DB_PASSWORD: null } })
    await until('no secret files left in the run dir', async () => {
      // A recursive scan racing the removal of an instance's folder fails with ENOENT: look again.
      const entries = await readdir(join(p.dataDir, 'run', 'secrets'), { recursive: true, withFileTypes: true }).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return undefined
        throw e
      })
      return entries !== undefined && entries.filter((e) => e.isFile()).length === 0
    })
  })
})
