// A function's releases over the embedded platform's stores: files in a data dir (the same suite runs
// against custom resources in test/k8s/releases.test.ts).
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { Releases } from '../../../core/releases/releases.js'
import { fileStore } from '../../../core/store/file-store.js'
import type { FunctionTrafficResource, FunctionVersionResource } from '../../../core/types.js'
import { releasesSuite } from '../../helpers/releases-suite.js'

async function open(dir: string) {
  return {
    versions: await fileStore<FunctionVersionResource>(dir, 'FunctionVersion'),
    traffic: await fileStore<FunctionTrafficResource>(dir, 'FunctionTraffic'),
  }
}

describe('releases over file stores', () => {
  releasesSuite(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-releases-'))
    return { stores: await open(dir), close: () => rm(dir, { recursive: true, force: true }) }
  })

  it('versions and traffic are files of their own beside the function\'s, read back by a restarted platform', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-releases-'))
    try {
      const r = new Releases(await open(dir), { retain: 10 })
      const f = { metadata: { name: 'hello', namespace: 'team-a' }, spec: { runtime: 'node', package: { sha256: 'a'.repeat(64) }, entrypoint: 'i.mjs' } }
      await r.deploy(f, { id: 'x' }, true, async (x) => x)
      await r.deploy({ ...f, spec: { ...f.spec, timeoutMs: 9 } }, { id: 'x' }, false, async (x) => x)
      expect(await readdir(join(dir, 'resources', 'functionversion', 'team-a'))).toEqual(['hello-v1.json', 'hello-v2.json'])
      expect(await readdir(join(dir, 'resources', 'functiontraffic', 'team-a'))).toEqual(['hello.json'])
      const again = new Releases(await open(dir), { retain: 10 })
      expect(again.versions('team-a/hello').map((v) => v.spec.version)).toEqual([1, 2])
      expect(again.traffic('team-a/hello')?.spec.traffic.targets).toEqual([{ version: 1, weight: 100 }])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
