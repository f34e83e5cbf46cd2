// The Node builder: one bundled file per function, ESM or CommonJS as Node decides, npm dependencies
// included, errors with file:line:col, and the same source always giving the same archive bytes.
import { execFileSync } from 'node:child_process'
import { cp, mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { createRequire } from 'node:module'
import { afterAll, describe, expect, it } from 'vitest'
import { BuildError, buildPackage } from '../../../runtimes/builder/index.js'

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'functions')
const temps: string[] = []

async function temp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'kiln-builder-test-'))
  temps.push(d)
  return d
}

afterAll(async () => {
  await Promise.all(temps.map((d) => rm(d, { recursive: true, force: true })))
})

/** Unpacks an archive into a temp folder and returns it. */
async function unpack(archive: Buffer): Promise<string> {
  const d = await temp()
  await writeFile(join(d, 'pkg.tar.gz'), archive)
  execFileSync('tar', ['-xzf', 'pkg.tar.gz'], { cwd: d })
  await rm(join(d, 'pkg.tar.gz'))
  return d
}

/** A copy of with-deps with its fixture package in place as node_modules. */
async function withDeps(): Promise<string> {
  const d = join(await temp(), 'with-deps')
  await cp(join(fixtures, 'with-deps'), d, { recursive: true })
  await rename(join(d, 'fixture_node_modules'), join(d, 'node_modules'))
  return d
}

describe('buildPackage (node)', () => {
  it('bundles an ESM folder with relative imports into one index.mjs', async () => {
    const r = await buildPackage({ source: join(fixtures, 'esm-hello'), runtime: 'node' })
    expect(r.entrypoint).toBe('index.mjs')
    expect(r.files).toEqual(['index.mjs'])
    expect(r.sha256).toMatch(/^[0-9a-f]{64}$/)
    const dir = await unpack(r.archive)
    const mod = await import(pathToFileURL(join(dir, 'index.mjs')).href)
    expect(await mod.default({ query: { name: 'kiln' } })).toBe('hello kiln')
  })

  it('bundles a CommonJS entry into index.cjs keeping a Fission-style export name', async () => {
    const r = await buildPackage({ source: join(fixtures, 'cjs-hello'), runtime: 'node', entrypoint: 'handler.handler' })
    expect(r.entrypoint).toBe('index.cjs:handler')
    expect(r.files).toEqual(['index.cjs'])
    const dir = await unpack(r.archive)
    const mod = createRequire(import.meta.url)(join(dir, 'index.cjs'))
    expect(await mod.handler({ request: { query: { name: 'x' } } })).toBe('HELLO X')
  })

  it("accepts 'file:export' and a single file as source", async () => {
    const a = await buildPackage({ source: join(fixtures, 'cjs-hello'), runtime: 'node', entrypoint: 'handler.js:handler' })
    expect(a.entrypoint).toBe('index.cjs:handler')
    const b = await buildPackage({ source: join(fixtures, 'esm-hello', 'index.mjs'), runtime: 'node' })
    expect(b.entrypoint).toBe('index.mjs')
  })

  it('decides ESM for a .js file from the nearest package.json type', async () => {
    const r = await buildPackage({ source: join(fixtures, 'js-module'), runtime: 'node', entrypoint: 'lib/fn.js:main' })
    expect(r.entrypoint).toBe('index.mjs:main')
  })

  it('includes npm dependencies from node_modules (a CommonJS package requiring a builtin, inside ESM)', async () => {
    const r = await buildPackage({ source: await withDeps(), runtime: 'node' })
    expect(r.entrypoint).toBe('index.mjs')
    expect(r.files).toEqual(['index.mjs'])
    const dir = await unpack(r.archive)
    const mod = await import(pathToFileURL(join(dir, 'index.mjs')).href)
    expect(await mod.default({ query: { n: '42' } })).toEqual({ padded: '00042', hash: 40 })
  })

  it('runs npm install in a copy when package.json declares dependencies and node_modules is missing', async () => {
    const root = await temp()
    await cp(join(fixtures, 'needs-install'), join(root, 'needs-install'), { recursive: true })
    await cp(join(fixtures, 'local-dep'), join(root, 'local-dep'), { recursive: true })
    const r = await buildPackage({ source: join(root, 'needs-install'), runtime: 'node' })
    expect(r.entrypoint).toBe('index.cjs')
    expect(r.warnings.join('\n')).toContain('npm install')
    const dir = await unpack(r.archive)
    expect(await createRequire(import.meta.url)(join(dir, 'index.cjs'))()).toBe('from a local dependency')
    // the user's folder is left alone
    const { existsSync } = await import('node:fs')
    expect(existsSync(join(root, 'needs-install', 'node_modules'))).toBe(false)
  })

  it('a syntax error is a BuildError with file:line:col', async () => {
    const err = await buildPackage({ source: join(fixtures, 'syntax-error'), runtime: 'node' }).catch((e) => e)
    expect(err).toBeInstanceOf(BuildError)
    expect(err.code).toBe('KILN_ERR_BUILD_FAILED')
    expect(err.errors[0]).toMatchObject({ file: 'index.mjs', line: 4 })
    expect(err.message).toMatch(/index\.mjs:4:\d+: /)
  })

  it('a missing import and a missing entrypoint are BuildErrors', async () => {
    const d = await temp()
    await writeFile(join(d, 'index.mjs'), "import x from './nope.mjs'\nexport default x\n")
    const err = await buildPackage({ source: d, runtime: 'node' }).catch((e) => e)
    expect(err).toBeInstanceOf(BuildError)
    expect(err.errors[0]).toMatchObject({ file: 'index.mjs', line: 1 })
    const err2 = await buildPackage({ source: d, runtime: 'node', entrypoint: 'missing.js' }).catch((e) => e)
    expect(err2).toBeInstanceOf(BuildError)
    expect(err2.code).toBe('KILN_ERR_BUILD_FAILED')
  })

  it('the same source gives the same archive bytes and sha256', async () => {
    const a = await buildPackage({ source: join(fixtures, 'esm-hello'), runtime: 'node' })
    const b = await buildPackage({ source: join(fixtures, 'esm-hello'), runtime: 'node' })
    expect(b.sha256).toBe(a.sha256)
    expect(b.archive.equals(a.archive)).toBe(true)
    const c = await buildPackage({ source: join(fixtures, 'cjs-hello'), runtime: 'node', entrypoint: 'handler.js' })
    expect(c.sha256).not.toBe(a.sha256)
  })
})
