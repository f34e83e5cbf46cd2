// Starts the embedded platform in-process on a free 127.0.0.1 port with a temp data dir; `stop()`
// (registered by the caller in afterAll/afterEach) stops every instance and removes the data dir.
// `call` sends the admin token the platform made on its first start with every `/v1` request (to the
// control API's listener), so tests act as the operator unless they pass their own Authorization.
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { SpanExporter } from '@opentelemetry/sdk-trace-base'
import { request } from 'undici'
import { buildPackage } from '../../runtimes/builder/index.js'
import { loadConfig, type KilnConfig } from '../../core/config.js'
import { silentLogger } from '../../core/logger.js'
import { startPlatform, type Platform } from '../../platform/embedded.js'
import { rememberDataDir } from './cli.js'
import type { Protections } from '../../controller/read-models.js'
import type { Logger } from 'pino'

export interface TestPlatform extends Platform {
  dataDir: string
  /** The admin token from `<data>/admin.token`. */
  adminToken: string
  stop(): Promise<void>
  /** Builds, uploads and deploys a function from a source file; returns the stored resource. */
  /** `namespace`: deploy there (the admin token acts in any). */
  deploy(name: string, source: string, spec?: Record<string, unknown>, namespace?: string): Promise<Record<string, unknown>>
  call(path: string, init?: { method?: string; body?: string | Buffer; headers?: Record<string, string> }): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string; json(): any }>
}

let seq = 0

export async function startTestPlatform(overrides: Partial<KilnConfig> = {}, keepDataDir?: string, opts: { spanExporter?: SpanExporter; protections?: Protections; logger?: Logger } = {}): Promise<TestPlatform> {
  const dataDir = keepDataDir ?? (await mkdtemp(join(tmpdir(), 'kiln-test-')))
  const config = loadConfig({
    port: 0,
    dataDir,
    poolSize: 2,
    cgroupRoot: `kiln-test-${process.pid}-${++seq}`,
    logLevel: process.env.KILN_TEST_LOG ?? 'silent',
    ...overrides,
  }, {})
  const platform = await startPlatform(config, { ...(process.env.KILN_TEST_LOG ? {} : { logger: silentLogger }), ...opts })
  const adminToken = (await readFile(join(dataDir, 'admin.token'), 'utf8')).trim()
  // `kiln(...)` against this platform finds its admin token the way the CLI does on this machine.
  rememberDataDir(platform.url, dataDir)
  if (platform.apiUrl !== platform.url) rememberDataDir(platform.apiUrl, dataDir)

  async function call(path: string, init: { method?: string; body?: string | Buffer; headers?: Record<string, string> } = {}) {
    const api = path.startsWith('/v1/') || path === '/v1'
    const headers = api && !Object.keys(init.headers ?? {}).some((h) => h.toLowerCase() === 'authorization') ? { authorization: `Bearer ${adminToken}`, ...init.headers } : init.headers
    const res = await request(`${api ? platform.apiUrl : platform.url}${path}`, { method: (init.method ?? 'GET') as 'GET', body: init.body, headers })
    const text = await res.body.text()
    return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) }
  }

  async function deploy(name: string, source: string, spec: Record<string, unknown> = {}, namespace?: string) {
    const built = await buildPackage({ source, runtime: String(spec.runtime ?? 'node'), entrypoint: spec.entrypoint as string | undefined })
    const up = await call('/v1/packages', { method: 'POST', body: built.archive, headers: { 'content-type': 'application/gzip' } })
    if (up.status !== 201) throw new Error(`upload failed: ${up.status} ${up.text}`)
    const body = { metadata: { name }, spec: { runtime: 'node', ...spec, package: { sha256: built.sha256 }, entrypoint: built.entrypoint } }
    const res = await call(`/v1/functions/${name}${namespace ? `?namespace=${namespace}` : ''}`, { method: 'PUT', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
    if (res.status >= 300) throw new Error(`deploy failed: ${res.status} ${res.text}`)
    return res.json()
  }

  return {
    ...platform,
    dataDir,
    adminToken,
    call,
    deploy,
    async stop() {
      await platform.close()
      if (!keepDataDir) await rm(dataDir, { recursive: true, force: true })
    },
  }
}
