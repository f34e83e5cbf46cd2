// Other platforms' spec files applied unchanged through the real CLI: a Fission spec folder (what
// `fission spec init` and `fission fn create --spec` write: a DeploymentConfig, environments, archive
// upload specs, packages, a poolmgr and a newdeploy function, a route) and an OpenFaaS stack.yml (a node
// and a python function). Each is invoked, and a second apply changes nothing.
import { cp, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { kiln, ROOT } from '../helpers/cli.js'
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js'

const FIXTURES = join(ROOT, 'test', 'fixtures', 'declarative')

describe('kiln apply -f: Fission specs and OpenFaaS stack files', () => {
  let p: TestPlatform
  let dir: string
  const k = (...args: string[]) => kiln([...args, '--server', p.url])
  const fn = async (name: string) => (await p.call(`/v1/functions/${name}`)).json()

  beforeAll(async () => {
    p = await startTestPlatform()
    dir = await mkdtemp(join(tmpdir(), 'kiln-formats-'))
    await cp(FIXTURES, dir, { recursive: true })
  })
  afterAll(async () => {
    await p?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('a Fission spec folder: environments map to built-in runtimes, archives are built, both executors are served', async () => {
    const r = await k('apply', '-f', join(dir, 'fission-app', 'specs'))
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual(['function/hello created', 'function/pyhello created', 'httptrigger/hello-route created'])
    expect(r.stderr).toContain('Environment nodejs (ghcr.io/fission/node-env-22) → Kiln\'s built-in runtime node')
    expect(r.stderr).toContain('apply set "6b6e7a3c-1f0e-4c41-9f4b-2a9f0c0d5e11"')

    const hello = await fn('hello')
    expect(hello.spec).toMatchObject({ runtime: 'node', shape: 'fission', timeoutMs: 60_000, idleTimeoutMs: 120_000, concurrency: 1, maxScale: 500 })
    expect(hello.spec.strategy).toBeUndefined()
    const py = await fn('pyhello')
    expect(py.spec).toMatchObject({ runtime: 'python', shape: 'fission', strategy: 'dedicated', minScale: 1, maxScale: 2, timeoutMs: 30_000, concurrency: 4, entrypoint: 'main.py:main', resources: { cpu: 0.5, memory: '128Mi' } })

    expect((await p.call('/hello?name=Ada')).text).toBe('hello Ada from fission node\n')
    expect((await p.call('/fn/pyhello?name=Ada')).text).toBe('HELLO ADA FROM FISSION PYTHON\n')
    // newdeploy with MinScale 1: an instance is kept up.
    expect((await fn('pyhello')).status.instances.length).toBeGreaterThanOrEqual(1)
  })

  it('applying the Fission folder again changes nothing', async () => {
    const before = await fn('pyhello')
    const r = await k('apply', '-f', join(dir, 'fission-app', 'specs'))
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.split('\n').filter(Boolean).every((l) => l.endsWith(' unchanged'))).toBe(true)
    const after = await fn('pyhello')
    expect(after.metadata.generation).toBe(before.metadata.generation)
    expect(after.status.instances.map((i: { pid: number }) => i.pid).sort()).toEqual(before.status.instances.map((i: { pid: number }) => i.pid).sort())
  })

  it('an OpenFaaS stack.yml: a node and a python function in the openfaas shape, scaled as OpenFaaS scales them', async () => {
    const r = await k('apply', '-f', join(dir, 'openfaas', 'stack.yml'))
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.split('\n').filter(Boolean)).toEqual(['function/greet-node created', 'function/greet-py created'])
    const node = await fn('greet-node')
    expect(node.spec).toMatchObject({ runtime: 'node', shape: 'openfaas', strategy: 'dedicated', minScale: 1, maxScale: 3, timeoutMs: 20_000, env: { GREETING: 'hi' } })
    expect(node.metadata.labels).toMatchObject({ 'com.openfaas.scale.min': '1', team: 'web' })
    const py = await fn('greet-py')
    expect(py.spec).toMatchObject({ runtime: 'python', shape: 'openfaas', strategy: 'dedicated', maxScale: 20, idleTimeoutMs: 300_000, resources: { cpu: 0.2, memory: '128Mi' } })
    expect(py.spec.minScale).toBeUndefined()
    expect((await p.call('/fn/greet-node?name=Ada')).text).toBe('hi Ada from openfaas node')
    expect((await p.call('/fn/greet-py?name=Bo')).text).toBe('hey Bo from openfaas python')
    const again = await k('apply', '-f', join(dir, 'openfaas', 'stack.yml'))
    expect(again.stdout.split('\n').filter(Boolean)).toEqual(['function/greet-node unchanged', 'function/greet-py unchanged'])
  })

  it('a Fission Package that names an archive the folder lacks is refused, naming the file', async () => {
    const { writeFile } = await import('node:fs/promises')
    const specs = join(dir, 'fission-app', 'specs')
    await writeFile(join(specs, 'function-broken.yaml'), 'apiVersion: fission.io/v1\nkind: Package\nmetadata: {name: broken, namespace: default}\nspec: {deployment: {type: url, url: "archive://nope"}, environment: {name: nodejs, namespace: default}}\n---\napiVersion: fission.io/v1\nkind: Function\nmetadata: {name: broken, namespace: default}\nspec: {environment: {name: nodejs, namespace: default}, package: {packageref: {name: broken, namespace: default}}, InvokeStrategy: {ExecutionStrategy: {ExecutorType: poolmgr}}}\n')
    const r = await k('apply', '-f', specs)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('function-broken.yaml')
    expect(r.stderr).toContain('unknown archive archive://nope')
    await rm(join(specs, 'function-broken.yaml'))
  })
})
