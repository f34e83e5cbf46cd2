// Function specs a hostile or careless caller can send, over the control API of an in-process platform:
// an entrypoint outside the package, naming a missing file or an inherited name (constructor, __proto__,
// __class__, ...) is refused at deploy with 400 naming spec.entrypoint, not on every call; env names
// must be POSIX names, within the size caps, and none the platform or a runtime reserves. A refused
// create stores nothing; a refused update leaves the deployed version serving.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ENV_LIMITS } from '../../../core/function-env.js'
import { tarGz } from '../../helpers/archives.js'
import { startTestPlatform, type TestPlatform } from '../../helpers/platform.js'

let p: TestPlatform
let nodeSha: string
let pySha: string
const JSON_HEADERS = { 'content-type': 'application/json' }

async function upload(archive: Buffer): Promise<string> {
  const res = await p.call('/v1/packages', { method: 'POST', body: archive, headers: { 'content-type': 'application/gzip' } })
  expect(res.status, res.text).toBe(201)
  return res.json().sha256
}

const put = (name: string, spec: Record<string, unknown>) =>
  p.call(`/v1/functions/${name}`, { method: 'PUT', body: JSON.stringify({ metadata: { name }, spec }), headers: JSON_HEADERS })
const nodeFn = (entrypoint: string, more: Record<string, unknown> = {}) => ({ runtime: 'node', package: { sha256: nodeSha }, entrypoint, ...more })
const pyFn = (entrypoint: string) => ({ runtime: 'python', package: { sha256: pySha }, entrypoint })

beforeAll(async () => {
  p = await startTestPlatform({ poolSize: 1 })
  nodeSha = await upload(tarGz([
    { path: 'index.mjs', body: 'export default () => "default"\nexport const handler = () => "handler"\nexport const env = () => ({ NODE_ENV: process.env.NODE_ENV, TZ: process.env.TZ, _X: process.env._X })\n' },
    { path: 'lib/', type: 'Directory' },
    { path: 'lib/util.cjs', body: 'module.exports = () => "util"\n' },
  ]))
  pySha = await upload(tarGz([
    { path: 'main.py', body: 'def main(req):\n    return "py main"\n' },
  ]))
})
afterAll(async () => { await p?.stop() })

async function expectRefused(name: string, spec: Record<string, unknown>, field: string): Promise<void> {
  const res = await put(name, spec)
  expect(res.status, `${JSON.stringify(spec)}: ${res.text}`).toBe(400)
  expect(res.json().error).toBe('KILN_ERR_VALIDATION')
  expect(res.json().message).toContain(field)
}

describe('spec.entrypoint is checked against the package at deploy', () => {
  it.each([
    '../../etc/passwd', '/etc/passwd', 'lib/../../index.mjs', 'missing.mjs', 'lib', 'index.mjs:constructor', 'index.mjs:__proto__',
    'index.mjs:toString', 'index.mjs:hasOwnProperty', 'index.mjs:valueOf', 'index.constructor', 'lib/util.cjs:call', 'lib/util.cjs:bind',
    'index.mjs\u0000', 'lib\\..\\..\\x.mjs',
  ])('node %j: 400 naming spec.entrypoint, nothing stored', async (entrypoint) => {
    await expectRefused('bad-entry', nodeFn(entrypoint), 'spec.entrypoint')
    expect((await p.call('/v1/functions/bad-entry')).status).toBe(404)
  })

  it("another function's package: ../<sha256>/file is outside the package (node and python)", async () => {
    const otherPy = await upload(tarGz([{ path: 'main.py', body: 'def main(req):\n    return "other"\n' }]))
    await expectRefused('neighbour', nodeFn(`../${pySha}/main.py`), 'spec.entrypoint')
    await expectRefused('neighbour', { ...pyFn(`../${otherPy}/main.py`) }, 'spec.entrypoint')
    await expectRefused('neighbour', { ...pyFn(`../${otherPy}/main`) }, 'spec.entrypoint')
    expect((await p.call('/v1/functions/neighbour')).status).toBe(404)
  })

  it.each(['main.py:__class__', 'main.py:__init__', 'main.__class__', 'main.py:main.__call__', '../main.py', '/etc/passwd', 'missing.py', 'main.py:not-a-name'])(
    'python %j: 400 naming spec.entrypoint, nothing stored', async (entrypoint) => {
      await expectRefused('bad-py', pyFn(entrypoint), 'spec.entrypoint')
      expect((await p.call('/v1/functions/bad-py')).status).toBe(404)
    })

  it('the entrypoints a runtime accepts deploy and serve', async () => {
    for (const [name, spec, body] of [
      ['ok-default', nodeFn('index.mjs'), 'default'], ['ok-named', nodeFn('index.mjs:handler'), 'handler'],
      ['ok-fission', nodeFn('index.handler'), 'handler'], ['ok-noext', nodeFn('lib/util'), 'util'],
      ['ok-py', pyFn('main.py'), 'py main'], ['ok-py-named', pyFn('main.py:main'), 'py main'], ['ok-py-lambda', pyFn('main.main'), 'py main'],
    ] as const) {
      const res = await put(name, spec)
      expect(res.status, `${name}: ${res.text}`).toBe(201)
      expect((await p.call(`/fn/${name}`)).text).toBe(body)
    }
  })

  it('a refused update leaves the deployed version serving', async () => {
    expect((await put('keeps', nodeFn('index.mjs:handler'))).status).toBe(201)
    await expectRefused('keeps', nodeFn('index.mjs:constructor'), 'spec.entrypoint')
    expect((await p.call('/v1/functions/keeps')).json().spec.entrypoint).toBe('index.mjs:handler')
    expect((await p.call('/fn/keeps')).text).toBe('handler')
  })
})

describe('spec.env', () => {
  const big = 'v'.repeat(ENV_LIMITS.maxValueBytes)
  it.each([
    ['a name with a dash', { 'BAD-NAME': '1' }],
    ['a name starting with a digit', { '1X': '1' }],
    ['an empty name', { '': '1' }],
    ['a name with a space', { 'A B': '1' }],
    ['a name over the cap', { ['N'.repeat(ENV_LIMITS.maxNameBytes + 1)]: '1' }],
    ['PORT', { PORT: '1' }],
    ['HOST', { HOST: '0.0.0.0' }],
    ['PATH', { PATH: '/tmp' }],
    ['KILN_*', { KILN_READY_FD: '1' }],
    ['NODE_OPTIONS', { NODE_OPTIONS: '--require /tmp/x.js' }],
    ['NODE_PATH', { NODE_PATH: '/tmp' }],
    ['LD_PRELOAD', { LD_PRELOAD: '/tmp/x.so' }],
    ['LD_LIBRARY_PATH', { LD_LIBRARY_PATH: '/tmp' }],
    ['PYTHONPATH', { PYTHONPATH: '/tmp' }],
    ['PYTHONSTARTUP', { PYTHONSTARTUP: '/tmp/x.py' }],
    ['GLIBC_TUNABLES', { GLIBC_TUNABLES: 'glibc.malloc.check=3' }],
    ['BASH_ENV', { BASH_ENV: '/tmp/x.sh' }],
    ['a NUL in a value', { A: 'a\u0000b' }],
    ['a value over the cap', { A: big + 'v' }],
    ['more variables than the cap', Object.fromEntries(Array.from({ length: ENV_LIMITS.maxCount + 1 }, (_, i) => [`V${i}`, '1']))],
    ['names and values over the total cap', { A: big, B: big, C: big }],
  ])('%s: 400 naming spec.env, nothing stored', async (_what, env) => {
    await expectRefused('bad-env', nodeFn('index.mjs', { env }), 'spec.env')
    expect((await p.call('/v1/functions/bad-env')).status).toBe(404)
  })

  it.each(['LD_PRELOAD', 'NODE_OPTIONS', 'KILN_MAX_BODY', 'PYTHONPATH'])('a secret key exposed as %s: 400 naming spec.secretEnv, nothing stored', async (name) => {
    if ((await p.call('/v1/secrets/db')).status === 404) {
      const made = await p.call('/v1/secrets', { method: 'POST', body: JSON.stringify({ metadata: { name: 'db' }, stringData: { password: 'pw' } }), headers: JSON_HEADERS })
      expect(made.status, made.text).toBe(201)
    }
    await expectRefused('bad-secret-env', nodeFn('index.mjs', { secretEnv: [{ secret: 'db', key: 'password', env: name }] }), 'spec.secretEnv')
    expect((await p.call('/v1/functions/bad-secret-env')).status).toBe(404)
  })

  it('ordinary names, and the harmless ones under reserved prefixes, reach the function', async () => {
    const res = await put('env-ok', nodeFn('index.mjs:env', { env: { NODE_ENV: 'production', TZ: 'UTC', _X: '', MY_VAR_1: 'x', PYTHONUNBUFFERED: '1' }, secretEnv: [{ secret: 'db', key: 'password', env: 'DB_PASSWORD' }] }))
    expect(res.status, res.text).toBe(201)
    expect((await p.call('/fn/env-ok')).json()).toEqual({ NODE_ENV: 'production', TZ: 'UTC', _X: '' })
  })
})
