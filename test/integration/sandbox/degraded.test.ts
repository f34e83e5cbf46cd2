// Where the machine cannot give a protection, Kiln starts anyway and says which one is missing: in
// /healthz, in /v1/nodes and `kiln node list` (and in its log). Simulated the honest way: the program
// that would give it is pointed at a path that does not exist, or the sandbox is turned off.
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { kiln } from '../../helpers/cli.js'
import { egressServerUnavailable, startEgressServer, type EgressServer } from '../../helpers/egress-server.js'
import { startTestPlatform, type TestPlatform } from '../../helpers/platform.js'

const PROBE = join(import.meta.dirname, '..', '..', 'fixtures', 'sandbox', 'probe.mjs')
const root = process.getuid?.() === 0

interface ProtectionView { name: string; active: boolean; detail: string }

async function protections(p: TestPlatform): Promise<ProtectionView[]> {
  return (await p.call('/v1/nodes')).json()[0].sandbox
}

describe.skipIf(!root)('without bubblewrap (root): own uid only', () => {
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

describe.skipIf(!root)('sandbox.network: none', () => {
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

  it.skipIf(egressServerUnavailable() !== undefined)('an instance has its own loopback and nothing else: no egress, no host', async () => {
    const net = (await protections(p)).find((x) => x.name === 'network')!
    expect(net.active).toBe(true)
    expect(net.detail).toContain('loopback only')
    await p.deploy('isolated', PROBE)
    const post = (body: unknown) => p.call('/fn/isolated', { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
    expect((await post({ action: 'egress', host: egress!.host, port: egress!.port })).json()).toEqual({ ok: false, code: 'ENETUNREACH' })
    expect((await post({ action: 'egress', host: '127.0.0.1', port: p.port })).json()).toEqual({ ok: false, code: 'ECONNREFUSED' })
  })
})
