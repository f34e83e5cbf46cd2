// A function applied to Kubernetes with kubectl alone: a Package object carrying the archive (what
// `kiln apply --dry-run -o yaml --kube-namespace` prints), a Function naming its sha256; the controller
// loads the package into the store, and the router serves the function. A Package whose bytes do not
// hash to its sha256 is refused in its status.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse as parseYaml, stringify as toYaml } from 'yaml'
import { buildPackage } from '../../runtimes/builder/index.js'
import { kiln } from '../helpers/cli.js'
import { NS, startHarness, type Harness } from './platform-harness.js'
import { BUILD_TIMEOUT_MS, ensureBinaries, plan } from './setup.js'
import { waitUntil } from './wait.js'

describe.skipIf(!plan.run)('Package objects: functions applied with kubectl alone', () => {
  let h: Harness
  let dir: string

  beforeAll(async () => {
    await ensureBinaries()
    h = await startHarness()
    await h.nodeRuntime(1)
    dir = await mkdtemp(join(tmpdir(), 'kiln-kpkg-'))
  }, BUILD_TIMEOUT_MS)
  afterAll(async () => {
    await h?.stop()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  const packageStatus = async (name: string) => JSON.parse(await h.kubectl('get', 'packages.kiln.dev', name, '-n', NS, '-o', 'json')).status ?? {}

  it('a Package with the archive inline and a Function naming its sha256: loaded, then served through the router', async () => {
    const src = join(dir, 'index.mjs')
    await writeFile(src, 'export default async () => ({ status: 200, body: "applied with kubectl" })\n')
    const built = await buildPackage({ source: src, runtime: 'node' })
    const file = join(dir, 'objects.yaml')
    await writeFile(file, [
      toYaml({ apiVersion: 'kiln.dev/v1', kind: 'Package', metadata: { name: 'kubectl-hello' }, spec: { sha256: built.sha256, archive: built.archive.toString('base64') } }),
      // kiln.dev/v2, the version the cluster stores (v1 would need the controller's conversion webhook, not run here).
      toYaml({ apiVersion: 'kiln.dev/v2', kind: 'Function', metadata: { name: 'kubectl-hello' }, spec: { runtime: 'node', package: { sha256: built.sha256 }, entrypoint: built.entrypoint } }),
    ].join('---\n'))
    await h.kubectl('apply', '-n', NS, '-f', file)
    await waitUntil('the package is loaded', async () => (await packageStatus('kubectl-hello')).loaded === 'True')
    await waitUntil('the router serves the function', async () => (await h.http(`${h.router.url}/fn/kubectl-hello`)).text === 'applied with kubectl')
  })

  it('kiln apply --dry-run -o yaml --kube-namespace prints objects that kubectl applies as they are', async () => {
    const code = join(dir, 'code')
    await (await import('node:fs/promises')).mkdir(code)
    await writeFile(join(code, 'index.mjs'), 'export default async () => ({ status: 200, body: "printed by kiln, applied by kubectl" })\n')
    await writeFile(join(dir, 'fn.yaml'), 'apiVersion: kiln.dev/v1\nkind: Function\nmetadata: {name: printed}\nspec: {runtime: node, code: ./code}\n')
    const r = await kiln(['apply', '-f', join(dir, 'fn.yaml'), '--dry-run', '-o', 'yaml', '--kube-namespace', NS, '--server', h.controller.url, '--token', h.adminToken])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('kind: Package')
    // The Function as the cluster stores it, so kubectl applies it with or without the conversion webhook.
    expect(parseYaml(r.stdout).items.filter((o: any) => o.kind === 'Function').map((o: any) => o.apiVersion)).toEqual(['kiln.dev/v2'])
    expect((await h.http(`${h.controller.url}/v1/functions/printed`)).status).toBe(404)
    const out = join(dir, 'printed.yaml')
    await writeFile(out, r.stdout)
    await h.kubectl('apply', '-f', out)
    await waitUntil('the router serves the printed function', async () => (await h.http(`${h.router.url}/fn/printed`)).text === 'printed by kiln, applied by kubectl')
  })

  it('a Package whose archive does not hash to its sha256 is refused in its status, and stores nothing', async () => {
    const file = join(dir, 'bad.yaml')
    await writeFile(file, toYaml({ apiVersion: 'kiln.dev/v1', kind: 'Package', metadata: { name: 'mismatch' }, spec: { sha256: 'f'.repeat(64), archive: Buffer.from('not the package').toString('base64') } }))
    await h.kubectl('apply', '-n', NS, '-f', file)
    await waitUntil('the package is refused', async () => (await packageStatus('mismatch')).loaded === 'False')
    expect((await packageStatus('mismatch')).message).not.toBe('')
    expect((await h.http(`${h.controller.url}/v1/packages/${'f'.repeat(64)}`)).status).toBe(404)
  })
})
