// `kiln apply -f` of Kiln's own documents through the real CLI against a real platform: create, then a
// re-apply that changes nothing (same versions, same instance pids), diff, a change, --prune of what the
// folder no longer declares, `kiln get all -o yaml` applied back unchanged, and `kiln delete -f`.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { kiln, ROOT } from '../helpers/cli.js'
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js'

const FIXTURES = join(ROOT, 'test', 'fixtures', 'declarative')

describe('kiln apply -f: Kiln documents', () => {
  let p: TestPlatform
  let dir: string
  const k = (...args: string[]) => kiln([...args, '--server', p.url])
  const fnStatus = async () => (await p.call('/v1/functions/hello')).json()

  beforeAll(async () => {
    p = await startTestPlatform()
    dir = await mkdtemp(join(tmpdir(), 'kiln-decl-'))
    await cp(join(FIXTURES, 'kiln'), dir, { recursive: true })
    expect((await k('secret', 'create', 'db', '--from-literal', 'password=pw')).code).toBe(0)
  })
  afterAll(async () => {
    await p?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('creates what the folder declares, in dependency order, and it serves', async () => {
    const r = await k('apply', '-f', join(dir, 'specs'))
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.split('\n').filter(Boolean)).toEqual(['secret/db unchanged', 'function/hello created', 'workflow/flow created', 'httptrigger/greet created'])
    expect((await p.call('/greet/Ada')).text).toBe('hello Ada from-the-folder')
    const fn = await fnStatus()
    expect(fn.metadata.labels['kiln.dev/apply-set']).toBe('specs')
    expect(fn.spec.package.sha256).toMatch(/^[a-f0-9]{64}$/)
  })

  it('applying the same folder again changes nothing: same version, same generation, same instance pids', async () => {
    const before = await fnStatus()
    const pids = before.status.instances.map((i: { pid: number }) => i.pid).sort()
    expect(pids.length).toBeGreaterThan(0)
    const r = await k('apply', '-f', join(dir, 'specs'))
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.split('\n').filter(Boolean).every((l) => l.endsWith(' unchanged'))).toBe(true)
    const after = await fnStatus()
    expect(after.metadata.generation).toBe(before.metadata.generation)
    expect(after.status.version).toBe(before.status.version)
    expect(after.status.instances.map((i: { pid: number }) => i.pid).sort()).toEqual(pids)
    expect((await k('diff', '-f', join(dir, 'specs'))).code).toBe(0)
  })

  it('diff shows a change and exits 1; apply then rolls the function once', async () => {
    const file = join(dir, 'specs', 'hello.yaml')
    await writeFile(file, (await readFile(file, 'utf8')).replace('from-the-folder', 'changed'))
    const d = await k('diff', '-f', join(dir, 'specs'))
    expect(d.code).toBe(1)
    expect(d.stdout).toContain('-    GREETING: from-the-folder')
    expect(d.stdout).toContain('+    GREETING: changed')
    const before = await fnStatus()
    const r = await k('apply', '-f', join(dir, 'specs'))
    expect(r.stdout).toContain('function/hello configured')
    expect(r.stdout).toContain('httptrigger/greet unchanged')
    expect((await fnStatus()).metadata.generation).toBe(before.metadata.generation + 1)
    expect((await p.call('/greet/Bo')).text).toBe('hello Bo changed')
  })

  it('get all -o yaml applies back unchanged', async () => {
    const g = await k('get', 'all', '-o', 'yaml')
    expect(g.code, g.stderr).toBe(0)
    expect(g.stdout).toContain('kind: HTTPTrigger')
    expect(g.stdout).not.toContain('status:')
    const file = join(dir, 'all.yaml')
    await writeFile(file, g.stdout)
    const r = await k('apply', '-f', file)
    expect(r.code, r.stderr).toBe(0)
    const lines = r.stdout.split('\n').filter(Boolean)
    expect(lines.length).toBeGreaterThanOrEqual(4)
    expect(lines.every((l) => l.endsWith(' unchanged'))).toBe(true)
  })

  it('--prune deletes what the folder no longer declares, and only what this folder applied', async () => {
    // Another folder's route and one made by hand are not this set's.
    expect((await k('route', 'add', '--path', '/by-hand', '--function', 'hello')).code).toBe(0)
    await rm(join(dir, 'specs', 'flow.yaml'))
    const dry = await k('apply', '-f', join(dir, 'specs'), '--prune', '--dry-run')
    expect(dry.stdout).toContain('workflow/flow pruned (dry run)')
    expect((await p.call('/v1/workflows/flow')).status).toBe(200)
    const r = await k('apply', '-f', join(dir, 'specs'), '--prune')
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('workflow/flow pruned')
    expect((await p.call('/v1/workflows/flow')).status).toBe(404)
    expect((await p.call('/v1/triggers/get-by-hand')).status).toBe(200)
  })

  it('delete -f deletes what the files declare (routes before functions) and keeps the secret', async () => {
    expect((await k('route', 'delete', 'get-by-hand')).code).toBe(0)
    const r = await k('delete', '-f', join(dir, 'specs'))
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.split('\n').filter(Boolean)).toEqual(['httptrigger/greet deleted', 'function/hello deleted'])
    expect((await p.call('/v1/functions/hello')).status).toBe(404)
    expect((await p.call('/v1/secrets/db')).status).toBe(200)
  })

  it('refuses, before writing anything, a folder that refers to what does not exist, naming the file', async () => {
    const bad = join(dir, 'bad.yaml')
    await writeFile(bad, 'apiVersion: kiln.dev/v1\nkind: Route\nmetadata: {name: nowhere}\nspec: {method: GET, path: /nowhere, function: missing}\n')
    const r = await k('apply', '-f', bad)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`${bad}: HTTPTrigger nowhere refers to Function missing`)
    expect((await p.call('/v1/triggers/nowhere')).status).toBe(404)
  })

  it('a folder that makes its namespace and puts a function and a route in it', async () => {
    const ns = join(dir, 'team')
    await (await import('node:fs/promises')).mkdir(ns)
    await writeFile(join(ns, 'all.yaml'), [
      'apiVersion: kiln.dev/v1\nkind: Namespace\nmetadata: {name: team-x}\nspec: {}\n',
      `apiVersion: kiln.dev/v1\nkind: Function\nmetadata: {name: hello, namespace: team-x}\nspec: {runtime: node, code: ${JSON.stringify(join(dir, 'functions', 'hello'))}}\n`,
      'apiVersion: kiln.dev/v1\nkind: Route\nmetadata: {name: team-greet, namespace: team-x}\nspec: {method: GET, path: /team/:name, function: hello}\n',
    ].join('---\n'))
    const r = await k('apply', '-f', ns)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.split('\n').filter(Boolean)).toEqual(['namespace/team-x created', 'function/hello created -n team-x', 'httptrigger/team-greet created -n team-x'])
    expect((await p.call('/team/Cy')).text).toBe('hello Cy')
    expect((await k('apply', '-f', ns)).stdout.split('\n').filter(Boolean).every((l) => l.includes(' unchanged'))).toBe(true)
  })

  it('a document the server refuses is named with the server\'s reason (a setting without effect)', async () => {
    const bad = join(dir, 'ineffective.yaml')
    await writeFile(bad, `apiVersion: kiln.dev/v1\nkind: Function\nmetadata: {name: lukewarm}\nspec: {runtime: node, code: ${JSON.stringify(join(dir, 'functions', 'hello'))}, minWarm: 2}\n`)
    const r = await k('apply', '-f', bad)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`${bad}: function/lukewarm: spec.minWarm: has no effect with strategy pool`)
    expect((await p.call('/v1/functions/lukewarm')).status).toBe(404)
  })

  it('a Secret document with values is refused: values never live in spec folders', async () => {
    const bad = join(dir, 'secret.yaml')
    await writeFile(bad, 'apiVersion: kiln.dev/v1\nkind: Secret\nmetadata: {name: leaked}\nstringData: {password: oops}\n')
    const r = await k('apply', '-f', bad)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('never holds values')
  })
})
