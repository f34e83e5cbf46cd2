// The backend method secrets will use (ClusterBackend.placeSecrets): files an instance reads at
// /var/kiln/secrets/NAME/KEY, placed before its code loads, read-only, readable by that instance alone.
// Tested at the backend with a literal value: real bubblewrap sandboxes, real runtimes.
import { statSync, readdirSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Pool } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Instance } from '../../../cluster/backend.js'
import { LocalBackend } from '../../../cluster/local/backend.js'
import { Sandbox } from '../../../cluster/local/sandbox/sandbox.js'
import { defaultSandbox } from '../../../core/config.js'
import { silentLogger } from '../../../core/logger.js'
import { distDir } from '../../../core/paths.js'
import { buildPackage } from '../../../runtimes/builder/index.js'
import { SANDBOX } from '../../helpers/sandbox-tier.js'

const FIXTURE = join(import.meta.dirname, '..', '..', 'fixtures', 'sandbox', 'reads-secret.mjs')

describe('secret files placed for one instance', SANDBOX, () => {
  let dataDir: string
  let sandbox: Sandbox
  let backend: LocalBackend
  let archive: Buffer
  let sha: string
  let entrypoint: string
  const pools: Pool[] = []

  const start = (id: string) => backend.start({ id, runtime: 'node', protocol: 'kiln', command: [process.execPath, join(distDir(), 'runtimes', 'node.js')], env: {}, node: 'general', warmup: false })
  const client = (inst: Instance) => {
    const p = new Pool(inst.url, { socketPath: inst.socketPath })
    pools.push(p)
    return p
  }
  const load = async (inst: Instance) => {
    const path = await backend.stageCode(inst.id, sha)
    const res = await client(inst).request({ method: 'POST', path: '/v1/specialize', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ function: { name: inst.id, entrypoint }, code: { path, sha256: sha } }) })
    expect(res.statusCode, await res.body.text()).toBe(200)
  }
  const read = async (inst: Instance, name = 'db', key = 'password') => {
    const res = await client(inst).request({ method: 'GET', path: `/?name=${name}&key=${key}` })
    return (await res.body.json()) as { value: string | { error: string }; listed: string[] | { error: string }; overwrite: unknown; dir: string }
  }

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'kiln-secrets-'))
    const built = await buildPackage({ source: FIXTURE, runtime: 'node' })
    archive = built.archive
    sha = built.sha256
    entrypoint = built.entrypoint
    sandbox = await Sandbox.open({ config: defaultSandbox(), dataDir, logger: silentLogger, cgroups: { mode: 'none' }, readPackage: async (s) => (s === sha ? archive : undefined) })
    backend = new LocalBackend({ log: () => undefined, logger: silentLogger, sandbox })
  })

  afterAll(async () => {
    await Promise.all(pools.map((p) => p.destroy()))
    await backend?.close()
    await sandbox?.close()
    await rm(dataDir, { recursive: true, force: true })
  })

  it('the instance it was placed for reads it; it cannot change it; another instance cannot see it', async () => {
    const [a, b] = await Promise.all([start('secret-a'), start('secret-b')])
    await backend.placeSecrets(a.id, [{ name: 'db', key: 'password', value: Buffer.from('hunter2') }])
    await Promise.all([load(a), load(b)])
    const ra = await read(a)
    expect(ra.value).toBe('hunter2')
    expect(ra.listed).toEqual(['db'])
    expect(ra.overwrite).toMatchObject({ error: expect.stringMatching(/^(EACCES|EROFS)$/) })
    expect(ra.dir).toBe('/var/kiln/secrets')
    const rb = await read(b)
    expect(rb.value).toEqual({ error: 'ENOENT' })
    expect(rb.listed).toEqual([])
    // On the host: root's file, readable by the instance's group only, under a folder only the platform lists.
    const host = join(sandbox.hostPaths(a.id)!.secrets, 'db', 'password')
    const st = statSync(host)
    expect(st.uid).toBe(0)
    expect(st.gid).not.toBe(0)
    expect(st.mode & 0o777).toBe(0o440)
    expect(readdirSync(sandbox.hostPaths(b.id)!.secrets)).toEqual([])
  })

  it('placing again replaces the set; a name that could leave the folder is refused', async () => {
    const a = await start('secret-c')
    await backend.placeSecrets(a.id, [{ name: 'db', key: 'password', value: Buffer.from('old') }])
    await backend.placeSecrets(a.id, [{ name: 'api', key: 'token', value: Buffer.from('t0k3n') }])
    await load(a)
    expect((await read(a, 'api', 'token')).value).toBe('t0k3n')
    expect((await read(a)).value).toEqual({ error: 'ENOENT' })
    for (const bad of [{ name: '..', key: 'x' }, { name: 'db', key: '../../etc' }, { name: 'a/b', key: 'c' }]) {
      await expect(backend.placeSecrets(a.id, [{ ...bad, value: Buffer.from('x') }])).rejects.toMatchObject({ code: 'KILN_ERR_VALIDATION' })
    }
  })
})
