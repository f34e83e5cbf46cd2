// Where the machine cannot give a protection, Kiln starts anyway and says which one is missing: in
// /healthz, in /v1/nodes and `kiln node list` (and in its log). Simulated the honest way: the program
// that would give it is pointed at a path that does not exist, or the sandbox is turned off.
import { chown, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { kiln, kilnUp, processesMatching, type UpProcess } from '../../helpers/cli.js'
import { egressServerUnavailable, startEgressServer, type EgressServer } from '../../helpers/egress-server.js'
import { startTestPlatform, type TestPlatform } from '../../helpers/platform.js'
import { SANDBOX } from '../../helpers/sandbox-tier.js'
import { needs } from '../../helpers/tier.js'

const PROBE = join(import.meta.dirname, '..', '..', 'fixtures', 'sandbox', 'probe.mjs')

interface ProtectionView { name: string; active: boolean; detail: string }

async function protections(p: TestPlatform): Promise<ProtectionView[]> {
  return (await p.call('/v1/nodes')).json()[0].sandbox
}

describe('without bubblewrap (root): own uid only', SANDBOX, () => {
  let p: TestPlatform
  beforeAll(async () => { p = await startTestPlatform({ poolSize: 1, sandbox: { programs: { bwrap: '/nonexistent/bwrap', setpriv: 'setpriv', slirp4netns: 'slirp4netns' } } }) })
  afterAll(async () => { await p?.stop() })

  it('starts, serves, and names the missing protections in /healthz, /v1/nodes and kiln node list', async () => {
    const h = (await p.call('/healthz')).json()
    expect(h.sandbox).toEqual({ mode: 'uid', network: 'host', missing: ['filesystem', 'processes', 'network', 'tmp'] })
    const list = await protections(p)
    expect(list.filter((x) => !x.active).map((x) => x.name)).toEqual(['filesystem', 'processes', 'network', 'tmp'])
    expect(list.find((x) => x.name === 'filesystem')!.detail).toContain('/nonexistent/bwrap')
    const cli = await kiln(['node', 'list'], { KILN_URL: p.url })
    expect(cli.code, cli.stderr).toBe(0)
    expect(cli.stdout).toContain('MISSING: filesystem, processes, network, tmp')
    await p.deploy('who', PROBE)
    const who = await p.call('/fn/who', { method: 'POST', body: JSON.stringify({ action: 'whoami' }), headers: { 'content-type': 'application/json' } })
    expect(who.status, who.text).toBe(200)
    expect(who.json().uid).toBeGreaterThanOrEqual(1000)
  })
})

describe('with the sandbox turned off: everything is reported missing but the transport and code checks', () => {
  let p: TestPlatform
  beforeAll(async () => { p = await startTestPlatform({ poolSize: 1, sandbox: { enabled: false } }) })
  afterAll(async () => { await p?.stop() })

  it('starts, serves, and says so', async () => {
    expect((await p.call('/healthz')).json().sandbox).toEqual({ mode: 'plain', network: 'host', missing: ['uid', 'filesystem', 'processes', 'network', 'tmp'] })
    const list = await protections(p)
    expect(list.find((x) => x.name === 'uid')!.detail).toContain('sandbox.enabled: false')
    expect(list.filter((x) => x.active).map((x) => x.name)).toEqual(expect.arrayContaining(['transport', 'code']))
    await p.deploy('plain', PROBE)
    const who = await p.call('/fn/plain', { method: 'POST', body: JSON.stringify({ action: 'whoami' }), headers: { 'content-type': 'application/json' } })
    expect(who.status, who.text).toBe(200)
  })
})

describe('sandbox.network: none', SANDBOX, () => {
  let p: TestPlatform
  let egress: EgressServer | undefined
  beforeAll(async () => {
    p = await startTestPlatform({ poolSize: 1, sandbox: { network: 'none' } })
    if (!egressServerUnavailable()) egress = await startEgressServer()
  })
  afterAll(async () => {
    await egress?.stop()
    await p?.stop()
  })

  it('an instance has its own loopback and nothing else: no egress, no host', needs(egressServerUnavailable()), async () => {
    const net = (await protections(p)).find((x) => x.name === 'network')!
    expect(net.active).toBe(true)
    expect(net.detail).toContain('loopback only')
    await p.deploy('isolated', PROBE)
    const post = (body: unknown) => p.call('/fn/isolated', { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
    expect((await post({ action: 'egress', host: egress!.host, port: egress!.port })).json()).toEqual({ ok: false, code: 'ENETUNREACH' })
    expect((await post({ action: 'egress', host: '127.0.0.1', port: p.port })).json()).toEqual({ ok: false, code: 'ECONNREFUSED' })
  })
})

describe('not root: bubblewrap in a user namespace', SANDBOX, () => {
  let up: UpProcess
  let dataDir: string
  const NOBODY = 65534
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'kiln-user-mode-'))
    await chown(dataDir, NOBODY, NOBODY)
    up = await kilnUp(dataDir, [], ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'env', 'HOME=/tmp'])
  })
  afterAll(async () => {
    if (up?.child.exitCode === null) await up.stop()
    await rm(dataDir, { recursive: true, force: true })
  })

  it('starts, serves in namespaces as its own user, and names what is missing (the uid; cgroups it cannot write)', async () => {
    const h = (await (await request(`${up.url}/healthz`)).body.json()) as { sandbox: { mode: string; missing: string[] } }
    expect(h.sandbox.mode).toBe('user')
    expect(h.sandbox.missing).toContain('uid')
    expect(h.sandbox.missing).not.toContain('filesystem')
    expect(h.sandbox.missing).not.toContain('processes')
    const env = { KILN_URL: up.url }
    const d = await kiln(['fn', 'deploy', 'who', '--code', PROBE, '-q'], env)
    expect(d.code, d.stderr).toBe(0)
    const res = await request(`${up.url}/fn/who`, { method: 'POST', body: JSON.stringify({ action: 'escapes', dataDir, victim: 'who', victimPackage: join(dataDir, 'packages'), victimVerified: join(dataDir, 'sandbox'), rootEntries: [], kilnPid: up.child.pid, kilnPort: Number(new URL(up.url).port), victimSocket: '/nonexistent', parentCgroupProcs: '/sys/fs/cgroup/cgroup.procs', tmpCap: 64 * 1024 * 1024 }), headers: { 'content-type': 'application/json' } })
    const report = (await res.body.json()) as Record<string, { escaped: boolean; code: string }>
    expect(report.readDataDir.code).toBe('ENOENT')
    expect(report.readFunctionSpec.code).toBe('ENOENT')
    expect(report.killPlatform.code).toBe('ESRCH')
    expect(report.seeOtherProcesses.escaped).toBe(false)
    expect(report.fillTmp.code).toBe('ENOSPC')
    expect(await up.stop()).toBe(0)
    expect(await processesMatching(join(dataDir, 'sandbox'))).toEqual([])
  })
})
