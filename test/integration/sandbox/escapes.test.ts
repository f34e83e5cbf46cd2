// Issue 20's escapes, tried by a hostile function (test/fixtures/sandbox/probe.mjs) from inside an
// ordinary handler against a real `kiln up` process: real bubblewrap, namespaces, cgroups and slirp4netns.
// Every attempt must be denied and the platform must keep serving.
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildPackage } from '../../../runtimes/builder/index.js'
import { cmdline, kilnUp, processesMatching, type UpProcess } from '../../helpers/cli.js'
import { egressServerUnavailable, startEgressServer, type EgressServer } from '../../helpers/egress-server.js'
import { until } from '../../helpers/until.js'
import { SANDBOX } from '../../helpers/sandbox-tier.js'
import { needs } from '../../helpers/tier.js'

const PROBE = join(import.meta.dirname, '..', '..', 'fixtures', 'sandbox', 'probe.mjs')
const TMP_CAP = 16 * 1024 * 1024

interface Answer { status: number; headers: Record<string, unknown>; text: string; json(): any }

describe('a hostile function cannot escape its sandbox', SANDBOX, () => {
  let dataDir: string
  let up: UpProcess
  let egress: EgressServer | undefined

  /** The control API needs the admin token the platform made on its first start. */
  const auth = (path: string): Record<string, string> => (path.startsWith('/v1/') ? { authorization: `Bearer ${readFileSync(join(dataDir, 'admin.token'), 'utf8').trim()}` } : {})
  const call = async (path: string, body?: unknown, method = body === undefined ? 'GET' : 'POST'): Promise<Answer> => {
    const res = await request(`${up.url}${path}`, { method: method as 'GET', body: body === undefined ? undefined : JSON.stringify(body), headers: { ...auth(path), ...(body === undefined ? {} : { 'content-type': 'application/json' }) } })
    const text = await res.body.text()
    return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) }
  }
  const deploy = async (name: string, source: string, spec: Record<string, unknown> = {}) => {
    const built = await buildPackage({ source, runtime: 'node' })
    const upl = await request(`${up.url}/v1/packages`, { method: 'POST', body: built.archive, headers: { ...auth('/v1/packages'), 'content-type': 'application/gzip' } })
    expect(upl.statusCode, await upl.body.text()).toBe(201)
    const res = await call(`/v1/functions/${name}`, { metadata: { name }, spec: { runtime: 'node', ...spec, package: { sha256: built.sha256 }, entrypoint: built.entrypoint } }, 'PUT')
    expect(res.status, res.text).toBeLessThan(300)
    return built.sha256
  }
  const instancesOf = async (fn: string) => (await call('/v1/instances')).json().filter((i: { function?: string }) => i.function === fn) as { id: string; pid: number; socket?: string }[]
  /** The host path of the instance's parent (node) cgroup's procs file, from its memory cgroup. */
  const parentProcs = (pid: number): string => {
    const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => /:memory:/.test(l) || l.startsWith('0::'))!
    const rel = line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1)
    const base = line.startsWith('0::') ? '/sys/fs/cgroup' : '/sys/fs/cgroup/memory'
    return join(dirname(join(base, rel)), 'cgroup.procs')
  }

  /** The instance cgroups (memory hierarchy, or the unified one) of this data dir's platform: kiln up runs in ours. */
  const staleInstanceGroups = (): string[] => {
    const line = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => /:memory:/.test(l)) ?? readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::'))!
    const base = line.includes(':memory:') ? '/sys/fs/cgroup/memory' : '/sys/fs/cgroup'
    const nodes = join(base, line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1), `kiln-${createHash('sha256').update(dataDir).digest('hex').slice(0, 8)}`, 'nodes')
    if (!existsSync(nodes)) return []
    const dirs = (d: string) => readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(d, e.name))
    return dirs(nodes).flatMap(dirs)
  }

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'kiln-escapes-'))
    await writeFile(join(dataDir, 'kiln.yaml'), JSON.stringify({ sandbox: { limits: { default: { tmp: '16Mi' } } } }))
    up = await kilnUp(dataDir)
    if (!egressServerUnavailable()) egress = await startEgressServer()
  }, 60_000)

  afterAll(async () => {
    await egress?.stop()
    if (up?.child.exitCode === null) await up.stop()
    await rm(dataDir, { recursive: true, force: true })
  })

  it('runs with every protection on this machine', async () => {
    const h = (await call('/healthz')).json()
    expect(h.sandbox).toEqual({ mode: 'root', network: 'egress', missing: [] })
  })

  it('denies every escape of issue 20, and the platform and the other function keep serving', async () => {
    const victimSha = await deploy('victim', join(import.meta.dirname, '..', '..', 'fixtures', 'executor', 'v1.mjs'))
    expect((await call('/fn/victim')).json().version).toBe(1)
    await deploy('probe', PROBE)
    expect((await call('/fn/probe', { action: 'whoami' })).status).toBe(200)
    const [victim] = await instancesOf('victim')
    const [probe] = await instancesOf('probe')
    expect(victim.socket).toBeTruthy()
    const port = Number(new URL(up.url).port)
    const targets = {
      action: 'escapes',
      dataDir,
      victim: 'victim',
      victimPackage: join(dataDir, 'packages', 'unpacked', victimSha),
      victimVerified: join(dataDir, 'sandbox', 'code', victimSha),
      rootEntries: readdirSync('/root'),
      kilnPid: up.child.pid,
      kilnPort: port,
      victimSocket: victim.socket,
      parentCgroupProcs: parentProcs(probe.pid),
      tmpCap: TMP_CAP,
    }
    // The host paths it aims at exist (so a denial is the sandbox's doing, not a wrong path).
    for (const p of [targets.victimPackage, targets.victimVerified, targets.victimSocket!, targets.parentCgroupProcs, join(dataDir, 'resources', 'function', 'victim.json')]) expect(existsSync(p), p).toBe(true)
    const res = await call('/fn/probe', targets)
    expect(res.status, res.text).toBe(200)
    const report = res.json() as Record<string, { escaped: boolean; code: string; detail?: string }>
    expect(Object.keys(report).length).toBeGreaterThanOrEqual(22)
    const escaped = Object.entries(report).filter(([, r]) => r.escaped)
    expect(escaped, JSON.stringify(report, null, 1)).toEqual([])
    // What each denial looked like from inside: hidden paths do not exist, read-only ones refuse writes.
    expect(report.readDataDir.code).toBe('ENOENT')
    expect(report.readShadow.code).toBe('ENOENT')
    expect(report.appendOwnCode.code).toMatch(/^(EROFS|EACCES)$/)
    expect(report.killPlatform.code).toBe('ESRCH')
    expect(report.killSandboxInit.code).toBe('EPERM')
    expect(report.connectOtherInstance.code).toBe('ENOENT')
    expect(report.redirectOwnSocket.code).toMatch(/^(EACCES|ENOENT)$/)
    expect((await call('/fn/probe', { action: 'whoami' })).headers['x-kiln-instance']).toBe(probe.id)
    expect(report.connectPlatformLoopback.code).toBe('ECONNREFUSED')
    expect(report.fillTmp.code).toBe('ENOSPC')
    expect(report.fillShm.code).toBe('ENOSPC')
    // From outside: nothing planted, nothing changed, everyone still served.
    expect(existsSync(join(dataDir, 'resources', 'function', 'planted.json'))).toBe(false)
    expect(readFileSync(join(targets.victimPackage, 'index.mjs'), 'utf8')).not.toContain('pwned')
    expect((await call('/fn/victim')).json().version).toBe(1)
    expect((await call('/healthz')).status).toBe(200)
    expect(up.child.exitCode).toBeNull()
    expect((await instancesOf('victim')).map((i) => i.id)).toContain(victim.id)
  })

  it('a caller cannot reach an instance\'s own endpoints through the router (unload, specialize, health)', async () => {
    const before = (await call('/fn/victim')).headers['x-kiln-instance']
    for (const [method, path] of [['POST', '/fn/victim/v1/unload'], ['POST', '/fn/victim/v1/specialize'], ['GET', '/fn/victim/healthz'], ['GET', '/fn/victim/v1'], ['GET', '/fn/victim/healthz/x?y=1']] as const) {
      const r = await call(path, method === 'POST' ? { function: { name: 'x' }, code: { url: 'http://10.0.2.2/x.tgz', sha256: '0'.repeat(64) } } : undefined, method)
      expect(r.status, `${method} ${path}: ${r.text}`).toBe(404)
      expect(r.json().error).toBe('KILN_ERR_NOT_FOUND')
    }
    const after = await call('/fn/victim')
    expect(after.json().version).toBe(1)
    expect(after.headers['x-kiln-instance']).toBe(before)
    // A function's own paths that merely start alike are its own.
    expect((await call('/fn/victim/v1x')).status).toBe(200)
  })

  it('cannot leave its cgroup: past its memory limit it is killed (502 out of memory), not the platform', async () => {
    await deploy('hog', PROBE, { resources: { memory: '64Mi' } })
    await call('/fn/hog', { action: 'whoami' })
    const [inst] = await instancesOf('hog')
    const res = await call('/fn/hog', { action: 'hog', parentCgroupProcs: parentProcs(inst.pid), mib: 256 })
    expect(res.status, res.text).toBe(502)
    expect(res.json().error).toBe('KILN_ERR_OUT_OF_MEMORY')
    expect((await call('/healthz')).status).toBe(200)
  })

  it('writes no file past its file size limit (EFBIG), and out of file descriptors its instance makes way for a new one', async () => {
    await deploy('files', PROBE, { resources: { fileSize: '1Mi', openFiles: 128 } })
    const big = (await call('/fn/files', { action: 'bigfile', bytes: 8 * 1024 * 1024 })).json()
    expect(big.code).toBe('EFBIG')
    expect(big.written).toBeLessThanOrEqual(1024 * 1024)
    const before = (await call('/fn/files', { action: 'whoami' })).headers['x-kiln-instance']
    const leak = await call('/fn/files', { action: 'leak' })
    expect(leak.status).toBe(500)
    expect(leak.json().message).toMatch(/EMFILE/)
    await until('the exhausted instance to exit', async () => !(await instancesOf('files')).some((i) => i.id === before))
    const after = await call('/fn/files', { action: 'whoami' })
    expect(after.status).toBe(200)
    expect(after.headers['x-kiln-instance']).not.toBe(before)
  })

  it('a Python instance out of file descriptors makes way for a new one too', async (ctx) => {
    const rts = (await call('/v1/runtimes')).json() as { metadata: { name: string } }[]
    if (!rts.some((r) => r.metadata.name === 'python')) ctx.skip()
    const built = await buildPackage({ source: join(import.meta.dirname, '..', '..', 'fixtures', 'sandbox', 'leak.py'), runtime: 'python' })
    const upl = await request(`${up.url}/v1/packages`, { method: 'POST', body: built.archive, headers: { ...auth('/v1/packages'), 'content-type': 'application/gzip' } })
    expect(upl.statusCode, await upl.body.text()).toBe(201)
    const put = await call('/v1/functions/pyleak', { metadata: { name: 'pyleak' }, spec: { runtime: 'python', package: { sha256: built.sha256 }, entrypoint: built.entrypoint, resources: { openFiles: 128 } } }, 'PUT')
    expect(put.status, put.text).toBeLessThan(300)
    const before = (await call('/fn/pyleak')).headers['x-kiln-instance']
    const leak = await call('/fn/pyleak?leak=1')
    expect(leak.status).toBe(500)
    expect(leak.json().message).toMatch(/Too many open files/)
    await until('the exhausted instance to exit', async () => !(await instancesOf('pyleak')).some((i) => i.id === before))
    const after = await call('/fn/pyleak')
    expect(after.status).toBe(200)
    expect(after.headers['x-kiln-instance']).not.toBe(before)
  })

  it('reaches a server beyond the host (egress), never the host loopback', needs(egressServerUnavailable()), async () => {
    const res = (await call('/fn/probe', { action: 'egress', host: egress!.host, port: egress!.port })).json()
    expect(res).toEqual({ ok: true, data: 'egress-ok' })
    const port = Number(new URL(up.url).port)
    const loop = (await call('/fn/probe', { action: 'egress', host: '127.0.0.1', port })).json()
    expect(loop.ok).toBe(false)
  })

  it('a child it starts detached dies with its instance', async () => {
    await deploy('detacher', PROBE)
    const marker = `${1000 + Math.floor(Math.random() * 1000)}.${process.pid}1`
    expect((await call('/fn/detacher', { action: 'detach', marker })).status).toBe(200)
    await until('the detached child to run', async () => (await processesMatching(`sleep ${marker}`)).length > 0)
    expect((await call('/v1/functions/detacher', undefined, 'DELETE')).status).toBe(200)
    await until('the detached child to die with its instance', async () => (await processesMatching(`sleep ${marker}`)).length === 0)
  })

  it('a child it starts detached dies when kiln up is killed with SIGKILL; the next start sweeps what is left', async () => {
    await deploy('detacher2', PROBE)
    const marker = `${2000 + Math.floor(Math.random() * 1000)}.${process.pid}2`
    expect((await call('/fn/detacher2', { action: 'detach', marker })).status).toBe(200)
    await until('the detached child to run', async () => (await processesMatching(`sleep ${marker}`)).length > 0)
    await up.stop('SIGKILL')
    await until('the detached child to die with kiln up', async () => (await processesMatching(`sleep ${marker}`)).length === 0)
    // Nothing of that platform runs any more: no sandbox (its command line names the data dir), no slirp4netns for it.
    // The spawner kills each sandbox's whole process tree (a sandbox process its killed bubblewrap never
    // released would wait forever); what is left is named.
    await until('no sandbox of this platform left', async () => (await processesMatching(join(dataDir, 'sandbox'))).length === 0)
      .catch(async (e: Error) => {
        const left = await processesMatching(join(dataDir, 'sandbox'))
        throw new Error(`${e.message}: ${left.map((pid) => `${pid} ${cmdline(pid).slice(0, 200)}`).join('; ')}`)
      })
    // A new start on the same data dir sweeps the cgroups and folders left behind, and stops cleanly.
    const left = staleInstanceGroups()
    expect(left.length).toBeGreaterThan(0)
    up = await kilnUp(dataDir)
    expect((await call('/healthz')).json().sandbox.missing).toEqual([])
    for (const g of left) expect(existsSync(g), g).toBe(false)
    expect(await up.stop()).toBe(0)
  })
})
