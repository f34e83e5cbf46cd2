// The file store over what a crash or a hand edit leaves in a data dir: a stale temp file (recovered:
// removed, the complete file beside it kept), a truncated or foreign JSON file (KILN_ERR_STATE_CORRUPT
// naming the file, and `kiln up` refuses to start with exit code 1 and that message, not a stack);
// and each write is fsynced before it is renamed into place, seen in the system calls themselves.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from 'esbuild'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fileStore } from '../../../core/store/file-store.js'
import type { RuntimeResource } from '../../../core/types.js'
import { kiln, ROOT } from '../../helpers/cli.js'
import { needs } from '../../helpers/tier.js'

let dir: string
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'kiln-filestore-')) })
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

const runtime = (name: string, poolSize = 1): RuntimeResource => ({ metadata: { name }, spec: { protocol: 'kiln', command: ['x'], poolSize } })

/** A data dir whose Runtime folder holds what a previous run left. */
async function dataDirWith(files: Record<string, string>): Promise<{ data: string; folder: string }> {
  const data = await mkdtemp(join(dir, 'data-'))
  const folder = join(data, 'resources', 'runtime')
  await mkdir(folder, { recursive: true })
  for (const [name, body] of Object.entries(files)) await writeFile(join(folder, name), body)
  return { data, folder }
}

/** A pid no process has (the kernel's limit is below 2^22 unless raised; checked, not assumed). */
function deadPid(): number {
  for (let pid = 4_194_000; ; pid--) {
    try { process.kill(pid, 0) } catch (e) { if ((e as NodeJS.ErrnoException).code === 'ESRCH') return pid }
  }
}

describe('file store: what a crash leaves', () => {
  it('a stale temp file beside a complete one is removed at open; the complete one is the resource', async () => {
    const complete = JSON.stringify({ ...runtime('alpha', 2), kind: 'Runtime', apiVersion: 'kiln.dev/v1' })
    const stale = `alpha.json.${deadPid()}.tmp`
    const { data, folder } = await dataDirWith({ 'alpha.json': complete, [stale]: complete.slice(0, 20) })
    const s = await fileStore<RuntimeResource>(data, 'Runtime')
    expect(s.list().map((r) => [r.metadata.name, r.spec.poolSize])).toEqual([['alpha', 2]])
    expect(await readdir(folder)).toEqual(['alpha.json'])
  })

  it('a stale temp file with no complete file (a crash before the first rename) is no resource and is removed', async () => {
    const { data, folder } = await dataDirWith({ [`beta.json.${deadPid()}.tmp`]: '{"metadata":{"na' })
    const s = await fileStore<RuntimeResource>(data, 'Runtime')
    expect(s.list()).toEqual([])
    expect(await readdir(folder)).toEqual([])
  })

  it('a temp file of a process still running is left alone (it may be mid-write)', async () => {
    const live = `gamma.json.${process.ppid}.tmp`
    const { data, folder } = await dataDirWith({ [live]: '{' })
    await fileStore<RuntimeResource>(data, 'Runtime')
    expect(await readdir(folder)).toEqual([live])
  })

  it('a truncated JSON file is KILN_ERR_STATE_CORRUPT naming the file', async () => {
    const whole = JSON.stringify(runtime('delta'), null, 2)
    const { data, folder } = await dataDirWith({ 'delta.json': whole.slice(0, whole.length / 2) })
    await expect(fileStore<RuntimeResource>(data, 'Runtime')).rejects.toMatchObject({
      code: 'KILN_ERR_STATE_CORRUPT', status: 500, details: { file: join(folder, 'delta.json') },
    })
  })

  it('a file that holds another resource than its name says is KILN_ERR_STATE_CORRUPT', async () => {
    const { data } = await dataDirWith({ 'epsilon.json': JSON.stringify(runtime('zeta')) })
    await expect(fileStore<RuntimeResource>(data, 'Runtime')).rejects.toMatchObject({ code: 'KILN_ERR_STATE_CORRUPT' })
  })

  it('kiln up over a truncated resource file exits 1 with the file named and what to do, no stack trace', async () => {
    const { data, folder } = await dataDirWith({})
    const fnDir = join(data, 'resources', 'function')
    await mkdir(fnDir, { recursive: true })
    await writeFile(join(fnDir, 'hello.json'), '{"metadata":{"name":"hello"},"spec":{"runt')
    const r = await kiln(['up', '--port', '0', '--data', data, '--pool-size', '0', '--cgroups', 'none', '--log-level', 'silent'])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`error: ${join(fnDir, 'hello.json')} is not valid JSON`)
    expect(r.stderr).toMatch(/\n {2}next: kiln writes its state whole/)
    expect(r.stderr).not.toMatch(/\n\s+at /)
    expect(existsSync(folder)).toBe(true)
  })
})

// Where strace is installed (Debian package strace; npm test's prerequisites install it), the write's
// system calls in order: the temp file is fsynced before it is renamed over the resource file, and the
// folder is fsynced after the rename.
const strace = spawnSync('strace', ['-V'], { stdio: 'ignore' }).status === 0

describe('file store: durable writes', () => {
  it('fsyncs the temp file before the rename, and the folder after it', needs(strace ? undefined : 'no strace on PATH (Debian package strace)'), async () => {
    const work = await mkdtemp(join(dir, 'strace-'))
    const script = join(work, 'write.mjs')
    await build({
      stdin: { contents: `import { fileStore } from './core/store/file-store.ts'\nconst s = await fileStore(process.argv[2], 'Runtime')\nawait s.put({ metadata: { name: 'traced' }, spec: { protocol: 'kiln', command: ['x'] } })\n`, resolveDir: ROOT, loader: 'ts' },
      bundle: true, platform: 'node', format: 'esm', outfile: script, logLevel: 'silent',
    })
    const log = join(work, 'strace.log')
    const r = spawnSync('strace', ['-f', '-qq', '-o', log, '-e', 'trace=openat,fsync,fdatasync,close,rename,renameat,renameat2', process.execPath, script, work], { encoding: 'utf8' })
    expect(r.status, r.stderr).toBe(0)
    const folder = join(work, 'resources', 'runtime')
    const file = join(folder, 'traced.json')
    // Follow the file descriptors: which fd is the temp file, which the folder, then the order of events.
    const events: string[] = []
    const fds = new Map<string, string>()
    for (const line of (await readFile(log, 'utf8')).split('\n')) {
      const open = /openat\([^,]+, "([^"]+)".*\)\s+=\s+(\d+)$/.exec(line)
      if (open) {
        if (open[1]!.startsWith(`${file}.`) && open[1]!.endsWith('.tmp')) fds.set(open[2]!, 'temp')
        else if (open[1] === folder) fds.set(open[2]!, 'folder')
        continue
      }
      const sync = /(?:fsync|fdatasync)\((\d+)\)\s+=\s+0$/.exec(line)
      if (sync && fds.has(sync[1]!)) events.push(`fsync ${fds.get(sync[1]!)}`)
      const ren = /rename(?:at2?)?\(.*"([^"]+\.tmp)".*"([^"]+)".*\)\s+=\s+0$/.exec(line)
      if (ren && ren[2] === file) events.push('rename')
      const close = /close\((\d+)\)\s+=\s+0$/.exec(line)
      if (close) fds.delete(close[1]!)
    }
    expect(events).toEqual(['fsync temp', 'rename', 'fsync folder'])
    expect(JSON.parse(await readFile(file, 'utf8')).metadata.name).toBe('traced')
  })
})
