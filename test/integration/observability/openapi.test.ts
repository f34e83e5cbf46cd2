// GET /v1/openapi.json: a valid OpenAPI 3.1 document with every /v1 route the platform registered,
// the descriptions in controller/openapi/routes.ts all naming real routes, and docs/api.md generated
// from it (`npm run docs:api`).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import SwaggerParser from '@apidevtools/swagger-parser'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROUTE_DOCS } from '../../../controller/openapi/routes.js'
import { apiMarkdown, type OpenApiDocument } from '../../../scripts/lib/api-markdown.js'
import { registeredRoutes } from '../../helpers/fastify-routes.js'
import { startTestPlatform, type TestPlatform } from '../../helpers/platform.js'

describe('the OpenAPI document of /v1', () => {
  let p: TestPlatform
  let doc: OpenApiDocument
  beforeAll(async () => {
    p = await startTestPlatform({ poolSize: 0 })
    const r = await p.call('/v1/openapi.json')
    expect(r.status).toBe(200)
    expect(r.headers['content-type']).toMatch(/^application\/json/)
    doc = r.json() as OpenApiDocument
  })
  afterAll(async () => { await p?.stop() })

  it('is a valid OpenAPI 3.1 document', async () => {
    expect(doc.openapi).toBe('3.1.0')
    // The validator resolves $refs in place: give it a copy.
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeTruthy()
    // The validator does refuse a broken document: a reference to a schema that is not there.
    const broken = structuredClone(doc)
    broken.paths['/v1/functions'].get.responses!['200'].content!['application/json'].schema = { $ref: '#/components/schemas/Nope' }
    await expect(SwaggerParser.validate(broken as never)).rejects.toThrow(/Nope/)
  })

  it('has every /v1 route the platform registered, and only those', () => {
    const routes = registeredRoutes(p.app).filter((r) => r.url.startsWith('/v1/') && r.method !== 'HEAD')
    expect(routes.length).toBeGreaterThan(30)
    const documented = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`)).sort()
    const registered = routes.map((r) => `${r.method} ${r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`).sort()
    expect(documented).toEqual(registered)
  })

  it('every description in controller/openapi/routes.ts names a registered route', () => {
    const registered = new Set(registeredRoutes(p.app).map((r) => `${r.method} ${r.url}`))
    expect(Object.keys(ROUTE_DOCS).filter((k) => !registered.has(k))).toEqual([])
  })

  it('describes bodies and answers with the resource schemas', () => {
    const put = doc.paths['/v1/functions/{name}'].put
    expect(put.requestBody?.content?.['application/json'].schema).toEqual({ $ref: '#/components/schemas/Function' })
    expect(put.responses?.['200'].content?.['application/json'].schema).toEqual({ $ref: '#/components/schemas/Function' })
    expect(put.responses?.default.content?.['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' })
    expect(put.parameters?.map((x) => `${x.in}:${x.name}:${x.required}`)).toEqual(['path:name:true'])
    const spec = doc.components!.schemas!.Function.properties!.spec
    expect(spec.required).toEqual(expect.arrayContaining(['runtime', 'package', 'entrypoint']))
    expect(Object.keys(doc.paths['/v1/packages'].post.requestBody!.content!)).toContain('application/gzip')
  })

  it('docs/api.md is the document rendered (run `npm run docs:api` after changing the API)', () => {
    const file = readFileSync(join(import.meta.dirname, '../../../docs/api.md'), 'utf8')
    expect(file).toBe(apiMarkdown(doc))
  })
})
