// Identity, namespaces and secrets through the real `kiln` CLI against a real `kiln up`: the admin
// token kiln up left in its data dir, tokens made and revoked, a developer confined to its namespace,
// contexts from `kiln login`, secrets that reach a private function and never the terminal.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { get, kiln, kilnUp, ROOT, type UpProcess } from '../helpers/cli.js'

const HELLO = join(ROOT, 'examples', 'hello', 'index.js')
const INSPECT = join(ROOT, 'test', 'fixtures', 'tenancy', 'inspect.mjs')
const PW = 'pw-3b8f0c2e-never-printed'

describe('tenancy through the CLI', () => {
  let dataDir: string
  let home: string
  let up: UpProcess
  let env: Record<string, string>
  let dev: string

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'kiln-e2e-ten-'))
    home = await mkdtemp(join(tmpdir(), 'kiln-e2e-home-'))
    up = await kilnUp(dataDir)
    env = { KILN_URL: up.url }
  })

  afterAll(async () => {
    await up?.stop()
    await rm(dataDir, { recursive: true, force: true })
    await rm(home, { recursive: true, force: true })
  })

  it('kiln up made an admin token in its data dir (0600), said where in its log, and the CLI on this machine uses it', async () => {
    expect((await stat(join(dataDir, 'admin.token'))).mode & 0o777).toBe(0o600)
    const token = (await readFile(join(dataDir, 'admin.token'), 'utf8')).trim()
    expect(up.output()).not.toContain(token)
    const me = await kiln(['whoami'], env)
    expect(me.code, me.stderr).toBe(0)
    expect(me.stdout).toMatch(/^role\s+admin$/m)
    expect(me.stdout).toContain(`token from        ${join(dataDir, 'admin.token')}`)
    expect((await get(`${up.url}/v1/functions`, { headers: { authorization: '' } })).status).toBe(401)
  })

  it('an admin makes a namespace and a developer token; the developer deploys into its namespace and nowhere else', async () => {
    const early = await kiln(['token', 'create', '--role', 'developer', '--namespace', 'team-a'], env)
    expect(early.code).toBe(1)
    expect(early.stderr).toMatch(/namespace "team-a" does not exist/)
    expect((await kiln(['ns', 'create', 'team-a'], env)).code).toBe(0)
    const made = await kiln(['token', 'create', '--role', 'developer', '--namespace', 'team-a', '--name', 'ci', '--expires', '30d'], env)
    expect(made.code, made.stderr).toBe(0)
    dev = made.stdout.trim()
    expect(dev).toMatch(/^kiln_[a-z0-9]{10}_/)
    const list = await kiln(['token', 'list'], env)
    expect(list.stdout).toMatch(new RegExp(`^${dev.slice(5, 15)}\\s+ci\\s+developer\\s+team-a`, 'm'))
    expect(list.stdout).not.toContain(dev.slice(16))

    const as = { ...env, KILN_TOKEN: dev }
    const d = await kiln(['fn', 'deploy', 'hello', '--code', HELLO], as)
    expect(d.code, d.stderr).toBe(0)
    expect(d.stderr).toContain('hello ready in namespace team-a')
    expect(d.stderr).toContain(`${up.url}/ns/team-a/fn/hello`)
    const inv = await kiln(['fn', 'invoke', 'hello', '--data', '{"name":"Ada"}'], as)
    expect(inv.code, inv.stderr).toBe(0)
    expect(JSON.parse(inv.stdout)).toEqual({ message: 'Hello, Ada!' })
    expect(JSON.parse((await get(`${up.url}/ns/team-a/fn/hello?name=Lin`)).text)).toEqual({ message: 'Hello, Lin!' })
    expect((await get(`${up.url}/fn/hello`)).status).toBe(404)

    const rt = await kiln(['runtime', 'create', 'sh', '--command', '/bin/sh'], as)
    expect(rt.code).toBe(1)
    expect(rt.stderr).toMatch(/needs role admin/)
    const other = await kiln(['fn', 'list', '-n', 'default'], as)
    expect(other.code).toBe(1)
    expect(other.stderr).toMatch(/namespace "default" is not one of the token's/)
    // The admin sees across namespaces with -A.
    const all = await kiln(['fn', 'list', '-A'], env)
    expect(all.stdout).toMatch(/^NAMESPACE\s+NAME/m)
    expect(all.stdout).toMatch(/^team-a\s+hello\s+node/m)
  })

  it('kiln login saves a context (0600) that later commands use; config lists and switches contexts', async () => {
    const cfg = { ...env, XDG_CONFIG_HOME: home, KILN_URL: '' }
    const login = await kiln(['login', '--server', up.url, '--token', dev, '--context', 'team-a-dev'], cfg)
    expect(login.code, login.stderr).toBe(0)
    expect(login.stderr).toMatch(/as developer/)
    const file = join(home, 'kiln', 'config.yaml')
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    const me = await kiln(['whoami'], cfg)
    expect(me.stdout).toMatch(/^role\s+developer$/m)
    expect(me.stdout).toMatch(/token from\s+context "team-a-dev"/)
    expect((await kiln(['config', 'current-context'], cfg)).stdout.trim()).toBe('team-a-dev')
    expect((await kiln(['config', 'get-contexts'], cfg)).stdout).toMatch(/^\*\s+team-a-dev\s+http:\/\/127\.0\.0\.1:\d+/m)
    expect((await kiln(['fn', 'get', 'hello'], cfg)).stdout).toMatch(/^namespace\s+team-a$/m)
    const nope = await kiln(['config', 'use-context', 'nope'], cfg)
    expect(nope.code).toBe(1)
    // A bad token is refused before anything is saved.
    const bad = await kiln(['login', '--server', up.url, '--token', 'kiln_0000000000_' + 'A'.repeat(43), '--context', 'bad'], cfg)
    expect(bad.code).toBe(1)
    expect(await readFile(file, 'utf8')).not.toContain('bad')
  })

  it('secrets: made from literals and files, read by a private function as files and a variable, never printed by the CLI', async () => {
    const as = { ...env, KILN_TOKEN: dev }
    const certFile = join(home, 'cert.pem')
    await writeFile(certFile, 'CERT-BYTES')
    const c = await kiln(['secret', 'create', 'db', '--from-literal', `password=${PW}`, '--from-file', `cert=${certFile}`], as)
    expect(c.code, c.stderr).toBe(0)
    for (const cmd of [['secret', 'list'], ['secret', 'get', 'db'], ['secret', 'get', 'db', '-o', 'json']]) {
      const r = await kiln(cmd, as)
      expect(r.code).toBe(0)
      expect(r.stdout + r.stderr).not.toContain(PW)
      expect(r.stdout).toContain('password')
    }
    const d = await kiln(['fn', 'deploy', 'reader', '--code', INSPECT, '--private', '--secret', 'db', '--secret-env', 'db:password=DB_PASSWORD'], as)
    expect(d.code, d.stderr).toBe(0)
    const g = await kiln(['fn', 'get', 'reader'], as)
    expect(g.stdout).toMatch(/^access\s+private/m)
    expect(g.stdout).toMatch(/^secrets\s+db \(files\), db:password → \$DB_PASSWORD$/m)
    expect(g.stdout + (await kiln(['fn', 'get', 'reader', '-o', 'json'], as)).stdout).not.toContain(PW)
    // The function's own answer may carry what it read: the value reached it.
    const inv = await kiln(['fn', 'invoke', 'reader', '--path', '/?env=DB_PASSWORD'], as)
    expect(inv.code, inv.stderr).toBe(0)
    const seen = JSON.parse(inv.stdout)
    expect(seen.env.DB_PASSWORD).toBe(PW)
    expect(seen.secrets).toEqual({ 'db/password': PW, 'db/cert': 'CERT-BYTES' })
    expect(seen.headers.authorization).toBeUndefined()
    expect((await get(`${up.url}/ns/team-a/fn/reader`)).status).toBe(401)

    const upd = await kiln(['secret', 'update', 'db', '--from-literal', 'password=second'], as)
    expect(upd.code, upd.stderr).toBe(0)
    expect(JSON.parse((await kiln(['fn', 'invoke', 'reader', '--path', '/?env=DB_PASSWORD'], as)).stdout).env.DB_PASSWORD).toBe('second')
    const del = await kiln(['secret', 'delete', 'db'], as)
    expect(del.code).toBe(1)
    expect(del.stderr).toMatch(/used by function "reader"/)
    expect((await kiln(['secret', 'delete', 'db', '--cascade'], as)).code).toBe(0)
    expect((await kiln(['secret', 'create', 'x', '--from-literal', 'novalue'], as)).code).toBe(1)
  })

  it('a revoked token stops working at once; a namespace with functions is deleted only with --cascade', async () => {
    const id = dev.slice(5, 15)
    expect((await kiln(['token', 'revoke', id], env)).code).toBe(0)
    const after = await kiln(['fn', 'list'], { ...env, KILN_TOKEN: dev })
    expect(after.code).toBe(1)
    expect(after.stderr).toMatch(/not valid/)
    const ns = await kiln(['ns', 'delete', 'team-a'], env)
    expect(ns.code).toBe(1)
    expect(ns.stderr).toMatch(/still holds: Function hello, reader/)
    const cascade = await kiln(['ns', 'delete', 'team-a', '--cascade'], env)
    expect(cascade.code, cascade.stderr).toBe(0)
    expect((await kiln(['ns', 'list'], env)).stdout).not.toMatch(/^team-a/m)
  })
})
