// The OpenAPI 3.1 document of the control API (@fastify/swagger), served at /v1/openapi.json and the
// source of docs/api.md (`npm run docs:api`). Mounted in the /v1 scope before the routes, it sees every
// route registered there, whoever registers it; routes.ts describes each (schemas.ts the shapes).
// The descriptions reach the document through swagger's `transform` only: fastify never compiles them,
// so requests are still checked by the handlers (core/validate.ts), with the catalogue's errors.
import swagger from '@fastify/swagger'
import type { FastifyInstance } from 'fastify'
import { KILN_VERSION } from '../../core/version.js'
import { ROUTE_DOCS, type RouteDoc } from './routes.js'
import { COMPONENTS, ref } from './schemas.js'

const ERROR_ANSWER = { description: 'an error: its HTTP status and catalogue code (Error)', content: { 'application/json': { schema: ref('Error') } } }

/** The schema @fastify/swagger documents for a route. */
export function documentedSchema(method: string, url: string, own: Record<string, unknown> | undefined): Record<string, unknown> {
  const doc: RouteDoc | undefined = ROUTE_DOCS[`${method} ${url}`]
  if (doc === undefined) {
    // Registered without an entry in routes.ts: its path, its parameters and the error answer.
    const params = [...url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1])
    return {
      tags: [url.split('/')[2] ?? 'other'], summary: `${method} ${url}`, ...own,
      ...(params.length > 0 && own?.params === undefined ? { params: { type: 'object', properties: Object.fromEntries(params.map((p) => [p, { type: 'string' }])), required: params } } : {}),
      response: { ...(own?.response as object | undefined), default: ERROR_ANSWER },
    }
  }
  const response: Record<string, unknown> = { default: ERROR_ANSWER }
  for (const [status, r] of Object.entries(doc.response)) {
    response[status] = r.schema === undefined ? { description: r.description } : { description: r.description, content: { [r.contentType ?? 'application/json']: { schema: r.schema } } }
  }
  return {
    tags: doc.tags, summary: doc.summary,
    ...(doc.description ? { description: doc.description } : {}),
    ...(doc.params ? { params: doc.params } : {}),
    ...(doc.querystring ? { querystring: doc.querystring } : {}),
    ...(doc.body ? { body: doc.body } : {}),
    ...(doc.bodyContent ? { body: { content: Object.fromEntries(Object.entries(doc.bodyContent).map(([ct, schema]) => [ct, { schema }])) } } : {}),
    response,
  }
}

export async function mountOpenApi(api: FastifyInstance): Promise<void> {
  await api.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Kiln control API',
        version: KILN_VERSION,
        description: 'Functions, runtimes, pools, routes, packages, workflows and their executions. Every error is JSON `{error, message, hint?}` with a catalogue code (`KILN_ERR_*`) and its HTTP status.',
      },
      components: { schemas: COMPONENTS as Record<string, never> },
    },
    transform: ({ url, route }) => ({ url, schema: documentedSchema(String(route.method), url, route.schema as Record<string, unknown> | undefined) as never }),
  })
  api.get('/openapi.json', async () => api.swagger())
}
