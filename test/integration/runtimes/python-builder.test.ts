// runtimes/builder/python.ts: copies the function, vendors requirements.txt with pip --target, and the
// runtime imports the vendored package with no install step.
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { buildPythonPackage } from '../../../runtimes/builder/python.js'
import { FIXTURES, call, specialize, startPython, stopAll } from '../../fixtures/python/runtime.js'

const made: string[] = []
afterEach(stopAll)
afterAll(async () => {
  await stopAll()
  await Promise.all(made.map((d) => rm(d, { recursive: true, force: true })))
})

async function workDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'kiln-pytest-'))
  made.push(d)
  return d
}

describe('python builder', () => {
  it('vendors requirements.txt and the runtime imports it', async () => {
    const out = await buildPythonPackage({ source: `${FIXTURES}builder/with-requirements`, workDir: await workDir() })
    made.push(out.dir)
    expect(out.entrypoint).toBe('main.py')
    expect(out.files).toContain('main.py')
    expect(out.files).toContain('six.py')
    const rt = await startPython()
    expect((await specialize(rt, { path: out.dir, entrypoint: out.entrypoint })).status).toBe(200)
    expect((await call(rt, '/')).json()).toEqual({ six: '1.16.0', text: 'str' })
  }, 180_000)

  it('fails with KILN_ERR_BUILD_FAILED and pip\'s message on a bad requirement, leaving nothing behind', async () => {
    const wd = await workDir()
    const err = await buildPythonPackage({ source: `${FIXTURES}builder/bad-requirement`, workDir: wd }).catch((e) => e)
    expect(err).toBeInstanceOf(Error)
    expect(err.code).toBe('KILN_ERR_BUILD_FAILED')
    expect(err.message).toMatch(/six==999\.0\.0/)
    expect(await readdir(wd)).toEqual([])
  }, 180_000)

  it('builds a single .py file with a named function', async () => {
    const out = await buildPythonPackage({ source: `${FIXTURES}functions/returns.py`, entrypoint: 'returns.py:text', workDir: await workDir() })
    expect(out).toMatchObject({ entrypoint: 'returns.py:text', files: ['returns.py'], warnings: [] })
  })

  it('resolves a Lambda-style entrypoint and rejects a missing one', async () => {
    const wd = await workDir()
    const out = await buildPythonPackage({ source: `${FIXTURES}lambda`, entrypoint: 'lambda_function.handler', workDir: wd })
    expect(out.entrypoint).toBe('lambda_function.py:handler')
    const err = await buildPythonPackage({ source: `${FIXTURES}lambda`, entrypoint: 'nope.py', workDir: wd }).catch((e) => e)
    expect(err.code).toBe('KILN_ERR_BUILD_FAILED')
    expect((await readdir(wd)).length).toBe(1)
  })
})
