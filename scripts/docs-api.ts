// `npm run docs:api`: writes docs/api.md from the control API's OpenAPI document, as an embedded
// platform (started here with no pools, no cgroups and a temporary data dir) serves it at
// GET /v1/openapi.json. test/integration/observability/openapi.test.ts fails when the file is stale.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../core/config.js'
import { silentLogger } from '../core/logger.js'
import { startPlatform } from '../platform/embedded.js'
import { apiMarkdown, type OpenApiDocument } from './lib/api-markdown.js'

// npm runs scripts at the package root (and bench/run-ts.mjs keeps that as the working directory).
const root = process.cwd()
const dataDir = mkdtempSync(join(tmpdir(), 'kiln-docs-api-'))
const platform = await startPlatform(loadConfig({ port: 0, dataDir, poolSize: 0, cgroups: 'none', cgroupRoot: `kiln-docs-${process.pid}` }, {}), { logger: silentLogger })
try {
  const r = await platform.app.inject({ method: 'GET', url: '/v1/openapi.json' })
  if (r.statusCode !== 200) throw new Error(`GET /v1/openapi.json answered ${r.statusCode}: ${r.body}`)
  const out = join(root, 'docs', 'api.md')
  writeFileSync(out, apiMarkdown(r.json() as OpenApiDocument))
  console.log(`wrote ${out}`)
} finally {
  await platform.close()
  rmSync(dataDir, { recursive: true, force: true })
}
