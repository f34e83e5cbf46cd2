import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../../core/config.js'
import { KilnError } from '../../../core/errors.js'
import { logFormat } from '../../../core/logger.js'
import { startTracing, tracesUrl } from '../../../core/tracing.js'
import { KILN_VERSION } from '../../../core/version.js'

function codeOf(f: () => unknown): string | undefined {
  try { f() } catch (e) { return e instanceof KilnError ? e.code : 'not a KilnError' }
  return undefined
}

describe('tracing settings', () => {
  const dirs: string[] = []
  afterAll(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }) })

  it('the traces URL is <endpoint>/v1/traces unless the endpoint already names it', () => {
    expect(tracesUrl('http://collector:4318')).toBe('http://collector:4318/v1/traces')
    expect(tracesUrl('http://collector:4318/')).toBe('http://collector:4318/v1/traces')
    expect(tracesUrl('https://otel.example/base/v1/traces')).toBe('https://otel.example/base/v1/traces')
  })

  it('KILN_OTLP_ENDPOINT over kiln.yaml\'s tracing block; each checked', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-cfg-'))
    dirs.push(dir)
    await writeFile(join(dir, 'kiln.yaml'), 'tracing:\n  otlpEndpoint: http://file:4318\n  sampleRatio: 0.25\n')
    expect(loadConfig({ dataDir: dir }, {}).tracing).toEqual({ otlpEndpoint: 'http://file:4318', sampleRatio: 0.25 })
    expect(loadConfig({ dataDir: dir }, { KILN_OTLP_ENDPOINT: 'http://env:4318' }).tracing).toEqual({ otlpEndpoint: 'http://env:4318', sampleRatio: 0.25 })
    expect(loadConfig({ dataDir: join(dir, 'none') }, {}).tracing).toEqual({})
    expect(codeOf(() => loadConfig({ dataDir: dir }, { KILN_OTLP_ENDPOINT: 'collector:4318' }))).toBe('KILN_ERR_VALIDATION')
    expect(codeOf(() => loadConfig({ dataDir: dir }, { KILN_OTLP_ENDPOINT: 'ftp://collector' }))).toBe('KILN_ERR_VALIDATION')
    for (const bad of ['tracing:\n  sampleRatio: 2\n', 'tracing:\n  endpoint: http://x\n', 'tracing: yes\n', 'tracing:\n  serviceName: ""\n']) {
      await writeFile(join(dir, 'kiln.yaml'), bad)
      expect(codeOf(() => loadConfig({ dataDir: dir }, {})), bad).toBe('KILN_ERR_VALIDATION')
    }
  })

  it('no endpoint and no exporter: no tracing at all', async () => {
    expect(await startTracing({ config: {} })).toBeUndefined()
  })

  it('log format: KILN_LOG_FORMAT, else pretty on a terminal and JSON elsewhere', () => {
    expect(logFormat({}, true)).toBe('pretty')
    expect(logFormat({}, false)).toBe('json')
    expect(logFormat({ KILN_LOG_FORMAT: 'json' }, true)).toBe('json')
    expect(logFormat({ KILN_LOG_FORMAT: 'pretty' }, false)).toBe('pretty')
  })

  it('KILN_VERSION is package.json\'s version', () => {
    expect(KILN_VERSION).toBe((JSON.parse(readFileSync(join(import.meta.dirname, '../../../package.json'), 'utf8')) as { version: string }).version)
  })
})
