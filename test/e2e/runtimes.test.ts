// Runtimes and shapes end to end: the real `kiln` CLI against a real `kiln up`. Functions written for
// Fission, OpenFaaS and AWS Lambda deploy unchanged (each example in examples/) and answer over HTTP
// through the router; the python builtin runtime vendors requirements.txt; a runtime speaking Fission's
// environment protocol (test/fission-env/server.mjs) is created with `kiln runtime create` and serves.
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { get, kiln, kilnUp, ROOT, type UpProcess } from '../helpers/cli.js'
import { FISSION_ENV_SERVER } from '../fission-env/process.js'
import { tier } from '../helpers/tier.js'

const EX = join(ROOT, 'examples')
const SHAPES = join(ROOT, 'test', 'fixtures', 'shapes')
const PYTHON = process.env.KILN_PYTHON ?? 'python3'
const python = tier('python', spawnSync(PYTHON, ['-c', 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)']).status !== 0 && `${PYTHON} (3.11+) not found`)

describe('runtimes and shapes through kiln up', () => {
  let dataDir: string
  let up: UpProcess
  let env: Record<string, string>

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'kiln-e2e-rt-'))
    up = await kilnUp(dataDir)
    env = { KILN_URL: up.url }
  })

  afterAll(async () => {
    await up?.stop()
    await rm(dataDir, { recursive: true, force: true })
  })

  async function deploy(name: string, args: string[]): Promise<string> {
    const d = await kiln(['fn', 'deploy', name, ...args], env)
    expect(d.code, d.stderr).toBe(0)
    return d.stderr
  }

  async function shapeOf(name: string): Promise<string> {
    const g = await kiln(['fn', 'get', name], env)
    expect(g.code, g.stderr).toBe(0)
    return /^shape\s+(\S+)/m.exec(g.stdout)?.[1] ?? ''
  }

  it('lists node and python as builtin runtimes, each with its own generic pool', python, async () => {
    const list = await kiln(['runtime', 'list'], env)
    expect(list.code).toBe(0)
    expect(list.stdout).toMatch(/^node\s+kiln\s+node\s/m)
    expect(list.stdout).toMatch(/^python\s+kiln\s+python\s/m)
    const pools = JSON.parse((await kiln(['pool', 'list', '-o', 'json'], env)).stdout) as { runtime: string; target: number }[]
    expect(pools.map((p) => p.runtime).sort()).toEqual(['node', 'python'])
  })

  it('fission, CommonJS (examples/fission-hello): detected, said, and shown by fn get', async () => {
    const out = await deploy('fission-cjs', ['--code', join(EX, 'fission-hello', 'hello.js')])
    expect(out).toMatch(/shape fission detected/)
    expect(await shapeOf('fission-cjs')).toBe('fission')
    const r = await get(`${up.url}/fn/fission-cjs?name=Ada`)
    expect(r.status).toBe(200)
    expect(r.text).toBe('Hello, Ada! (from a Fission function)')
  })

  it('fission, ESM export default async (context)', async () => {
    await deploy('fission-esm', ['--code', join(SHAPES, 'fission-esm', 'hello.mjs'), '--shape', 'fission'])
    const r = await get(`${up.url}/fn/fission-esm?name=Lin`)
    expect(r.status).toBe(200)
    expect(r.text).toBe('esm hello Lin')
  })

  it('fission, named entrypoint file.fn', async () => {
    await deploy('fission-named', ['--code', join(SHAPES, 'fission-named'), '--entrypoint', 'greet.hello', '--shape', 'fission'])
    const r = await get(`${up.url}/fn/fission-named?name=Kay`)
    expect(r.status).toBe(200)
    expect(r.text).toBe('named hello Kay')
  })

  it('fission, a source folder whose package.json dependencies the builder installs', async () => {
    const out = await deploy('fission-deps', ['--code', join(SHAPES, 'fission-deps'), '--shape', 'fission'])
    expect(out).toMatch(/npm install/)
    const r = await get(`${up.url}/fn/fission-deps`)
    expect(r.status).toBe(200)
    expect(r.text).toBe('deps: from a local dependency')
  })

  it('openfaas node template: context.status(n).headers(h).succeed(body)', async () => {
    const out = await deploy('of-node', ['--code', join(EX, 'openfaas-node', 'handler.js')])
    expect(out).toMatch(/shape openfaas detected/)
    expect(await shapeOf('of-node')).toBe('openfaas')
    const r = await get(`${up.url}/fn/of-node/sub?name=Ada`, { method: 'POST', body: '{"x":1}', headers: { 'content-type': 'application/json' } })
    expect(r.status).toBe(200)
    expect(r.headers['x-served-by']).toBe('openfaas-node')
    expect(JSON.parse(r.text)).toEqual({ message: 'Hello, Ada!', method: 'POST', path: '/sub' })
  })

  it('lambda node: exports.handler, payload 2.0, {statusCode, headers, body}', async () => {
    await deploy('lambda-node', ['--code', join(EX, 'lambda-node'), '--entrypoint', 'index.handler', '--shape', 'lambda'])
    expect(await shapeOf('lambda-node')).toBe('lambda')
    const r = await get(`${up.url}/fn/lambda-node/items?name=Grace`)
    expect(r.status).toBe(200)
    expect(r.headers['x-served-by']).toBe('lambda-node')
    expect(JSON.parse(r.text)).toEqual({ message: 'Hello, Grace!', path: '/items', requestId: true })
  })

  it('an explicit --shape wins over detection', async () => {
    await deploy('forced', ['--code', join(EX, 'openfaas-node', 'handler.js'), '--shape', 'kiln'])
    expect(await shapeOf('forced')).toBe('kiln')
  })

  it('python with requirements.txt: vendored at deploy, imported at run time', { ...python, timeout: 180_000 }, async () => {
    const out = await deploy('py-hello', ['--runtime', 'python', '--code', join(EX, 'python-hello')])
    expect(out).toMatch(/Built \d+ file/)
    expect(await shapeOf('py-hello')).toBe('kiln')
    const r = await get(`${up.url}/fn/py-hello?name=Ada`)
    expect(r.status).toBe(200)
    expect(JSON.parse(r.text)).toEqual({ message: 'Hello, Ada!', six: '1.16.0' })
  })

  it('openfaas python3-http: handle(event, context) → {statusCode, body, headers}', python, async () => {
    const out = await deploy('of-py', ['--runtime', 'python', '--code', join(EX, 'openfaas-python')])
    expect(out).toMatch(/shape openfaas detected/)
    const r = await get(`${up.url}/fn/of-py/p?name=Bo`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })
    expect(r.status).toBe(200)
    expect(r.headers['x-served-by']).toBe('openfaas-python')
    expect(JSON.parse(r.text)).toEqual({ message: 'Hello, Bo!', method: 'POST', path: '/p' })
  })

  it('lambda python: def handler(event, context), payload 2.0', python, async () => {
    await deploy('lambda-py', ['--runtime', 'python', '--code', join(EX, 'lambda-python'), '--entrypoint', 'lambda_function.handler', '--shape', 'lambda'])
    expect(await shapeOf('lambda-py')).toBe('lambda')
    const r = await get(`${up.url}/fn/lambda-py/x?name=Jo`)
    expect(r.status).toBe(200)
    expect(r.headers['x-served-by']).toBe('lambda-python')
    expect(JSON.parse(r.text)).toEqual({ message: 'Hello, Jo!', path: '/x', function: 'lambda-py' })
  })

  it('a runtime speaking the fission protocol: kiln runtime create, deploy, invoke', async () => {
    const c = await kiln(['runtime', 'create', 'fission-env', '--protocol', 'fission', '--pool-size', '1', '--command', process.execPath, FISSION_ENV_SERVER], env)
    expect(c.code, c.stderr).toBe(0)
    const list = await kiln(['runtime', 'list'], env)
    expect(list.stdout).toMatch(/^fission-env\s+fission\s/m)

    await deploy('fenv-cjs', ['--runtime', 'fission-env', '--code', join(EX, 'fission-hello', 'hello.js')])
    const r = await get(`${up.url}/fn/fenv-cjs?name=Ada`)
    expect(r.status).toBe(200)
    expect(r.text).toBe('Hello, Ada! (from a Fission function)')
    // A Fission environment serves only `/`: a sub-path through the router still reaches it, query kept.
    const sub = await get(`${up.url}/fn/fenv-cjs/some/sub/path?name=Sub`)
    expect(sub.status).toBe(200)
    expect(sub.text).toBe('Hello, Sub! (from a Fission function)')

    await deploy('fenv-named', ['--runtime', 'fission-env', '--code', join(SHAPES, 'fission-named'), '--entrypoint', 'greet.hello'])
    const n = await get(`${up.url}/fn/fenv-named?name=Kay`)
    expect(n.status).toBe(200)
    expect(n.text).toBe('named hello Kay')

    await deploy('fenv-esm', ['--runtime', 'fission-env', '--code', join(SHAPES, 'fission-esm', 'hello.mjs')])
    const e = await get(`${up.url}/fn/fenv-esm?name=Lin`)
    expect(e.status).toBe(200)
    expect(e.text).toBe('esm hello Lin')

    // Each function got its own instance: a specialized Fission server is never handed to another function.
    const fns = await Promise.all(['fenv-cjs', 'fenv-named', 'fenv-esm'].map(async (f) => JSON.parse((await kiln(['fn', 'get', f, '-o', 'json'], env)).stdout)))
    const pids = fns.flatMap((f) => (f.status.instances as { pid: number }[]).map((i) => i.pid))
    expect(new Set(pids).size).toBe(pids.length)
  })

  // Thirteen CLI processes: a few seconds each on a loaded machine, so they run side by side and the
  // test's bound is generous (it timed out at 60 s one after the other).
  it('cleans up: functions and the fission runtime are deleted', { timeout: 180_000 }, async () => {
    const fns = ['fission-cjs', 'fission-esm', 'fission-named', 'fission-deps', 'of-node', 'lambda-node', 'forced', 'fenv-cjs', 'fenv-named', 'fenv-esm',
      ...(python.skip ? [] : ['py-hello', 'of-py', 'lambda-py'])]
    const deleted = await Promise.all(fns.map(async (f) => [f, (await kiln(['fn', 'delete', f], env)).code] as const))
    expect(deleted).toEqual(fns.map((f) => [f, 0]))
    const d = await kiln(['runtime', 'delete', 'fission-env'], env)
    expect(d.code, d.stderr).toBe(0)
  })
})
