// Starts the embedded platform in-process on a free 127.0.0.1 port with a temp data dir; `stop()`
// (registered by the caller in afterAll/afterEach) stops every instance and removes the data dir.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { buildPackage } from '../../runtimes/builder/index.js'
import { loadConfig, type KilnConfig, type SandboxConfig } from '../../core/config.js'
import { silentLogger } from '../../core/logger.js'
import { startPlatform, type Platform } from '../../cli/up/platform.js'

export interface TestPlatform extends Platform {
  dataDir: string
  stop(): Promise<void>
  /** Builds, uploads and deploys a function from a source file; returns the stored resource. */
  deploy(name: string, source: string, spec?: Record<string, unknown>): Promise<Record<string, unknown>>
  call(path: string, init?: { method?: string; body?: string | Buffer; headers?: Record<string, string> }): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string; json(): any }>
}

let seq = 0

export type PlatformOverrides = Partial<Omit<KilnConfig, 'sandbox'>> & { sandbox?: Partial<SandboxConfig> }

export async function startTestPlatform(overrides: PlatformOverrides = {}, keepDataDir?: string): Promise<TestPlatform> {
  const dataDir = keepDataDir ?? (await mkdtemp(join(tmpdir(), 'kiln-test-')))
  const config = loadConfig({
    port: 0,
    dataDir,
    poolSize: 2,
    cgroupRoot: `kiln-test-${process.pid}-${++seq}`,
    logLevel: process.env.KILN_TEST_LOG ?? 'silent',
    ...overrides,
  } as Partial<KilnConfig>, {})
  const platform = await startPlatform(config, process.env.KILN_TEST_LOG ? {} : { logger: silentLogger })

  async function call(path: string, init: { method?: string; body?: string | Buffer; headers?: Record<string, string> } = {}) {
    const res = await request(`${platform.url}${path}`, { method: (init.method ?? 'GET') as 'GET', body: init.body, headers: init.headers })
    const text = await res.body.text()
    return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) }
  }

  async function deploy(name: string, source: string, spec: Record<string, unknown> = {}) {
    const built = await buildPackage({ source, runtime: String(spec.runtime ?? 'node'), entrypoint: spec.entrypoint as string | undefined })
    const up = await call('/v1/packages', { method: 'POST', body: built.archive, headers: { 'content-type': 'application/gzip' } })
    if (up.status !== 201) throw new Error(`upload failed: ${up.status} ${up.text}`)
    const body = { metadata: { name }, spec: { runtime: 'node', ...spec, package: { sha256: built.sha256 }, entrypoint: built.entrypoint } }
    const res = await call(`/v1/functions/${name}`, { method: 'PUT', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
    if (res.status >= 300) throw new Error(`deploy failed: ${res.status} ${res.text}`)
    return res.json()
  }

  return {
    ...platform,
    dataDir,
    call,
    deploy,
    async stop() {
      await platform.close()
      if (!keepDataDir) await rm(dataDir, { recursive: true, force: true })
    },
  }
}
