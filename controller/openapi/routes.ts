// What the OpenAPI document says of each /v1 route, keyed `METHOD /v1/path` as fastify registers it.
// Kept beside the handlers rather than in them so a handler stays what it does; a test checks that
// every entry names a registered route. A route without an entry still appears, with its path,
// parameters and the error answer only.
import { Type, type TSchema } from '@sinclair/typebox'
import { ref } from './schemas.js'

export interface RouteDoc {
  tags: string[]
  summary: string
  description?: string
  params?: TSchema
  querystring?: TSchema
  body?: TSchema
  /** A body that is not JSON: content type -> schema. */
  bodyContent?: Record<string, TSchema>
  /** Status -> what comes back (JSON), or `{ contentType, schema }` for anything else. */
  response: Record<string, { description: string; schema?: TSchema; contentType?: string }>
}

const Name = (what: string) => Type.Object({ name: Type.String({ description: `the ${what}'s name` }) }, { required: ['name'] })
const Sha = Type.Object({ sha: Type.String({ pattern: '^[a-f0-9]{64}$', description: 'the package\'s sha256' }) })
const list = (name: string) => Type.Array(ref(name))
const Binary = Type.String({ format: 'binary', description: 'a gzipped tar archive' })
const deleted = { 200: { description: 'deleted', schema: ref('Deleted') } }

export const ROUTE_DOCS: Record<string, RouteDoc> = {
  'GET /v1/functions': { tags: ['functions'], summary: 'List functions with their live status', response: { 200: { description: 'every function, `status` from the executor', schema: list('Function') } } },
  'POST /v1/functions': {
    tags: ['functions'], summary: 'Create a function', body: ref('Function'),
    description: 'Checks the spec, the runtime and the package, unpacks the package, stores the function, and answers once it is applied (for `warm`, once its instances are warm).',
    response: { 201: { description: 'created', schema: ref('Function') } },
  },
  'PUT /v1/functions/:name': {
    tags: ['functions'], summary: 'Create or update (deploy) a function', params: Name('function'), body: ref('Function'),
    querystring: Type.Object({ promote: Type.Optional(Type.String({ description: '`false`: record the new version without sending it traffic (for a canary)' })) }),
    description: 'A change of the spec records a new immutable version and, unless `promote=false`, sends it all traffic; answers once the new version is the only one served (for `warm`, once it is warm). A spec equal to the newest version\'s changes no traffic.',
    response: { 200: { description: 'updated', schema: ref('Function') }, 201: { description: 'created', schema: ref('Function') } },
  },
  'GET /v1/functions/:name': { tags: ['functions'], summary: 'Read a function and its live status', params: Name('function'), response: { 200: { description: 'the function', schema: ref('Function') } } },
  'DELETE /v1/functions/:name': {
    tags: ['functions'], summary: 'Delete a function (its instances drain)', params: Name('function'),
    description: 'Refused with 409 KILN_ERR_IN_USE, naming them, while routes, triggers or workflows refer to the function; `cascade=1` deletes them first (and what leads to those workflows).',
    querystring: Type.Object({ cascade: Type.Optional(Type.String({ description: '1: delete what refers to the function first' })) }),
    response: deleted,
  },
  'GET /v1/functions/:name/logs': {
    tags: ['functions'], summary: 'The function\'s latest output lines', params: Name('function'),
    querystring: Type.Object({
      tail: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 200 })),
      since: Type.Optional(Type.String({ description: 'an ISO time: only lines written at or after it' })),
      follow: Type.Optional(Type.Boolean({ description: 'keep the answer open: the lines as plain text (`text/plain`, one a line), then each new one as it is written, until the client goes (`kiln fn logs -f`, the console\'s live tail)' })),
    }),
    response: { 200: { description: 'output lines, oldest first', schema: Type.Object({ function: Type.String(), lines: Type.Array(Type.String()) }) } },
  },
  'POST /v1/functions/:name/isolate': {
    tags: ['isolation'], summary: 'Move a function to isolated nodes by hand', params: Name('function'),
    body: Type.Object({ reason: Type.Optional(Type.String()) }),
    response: { 200: { description: 'the function\'s status once moved', schema: ref('FunctionStatus') } },
  },
  'POST /v1/functions/:name/release': {
    tags: ['isolation'], summary: 'Let an isolated function back onto general nodes', params: Name('function'),
    response: { 200: { description: 'the function\'s status once moved', schema: ref('FunctionStatus') } },
  },
  'GET /v1/events': {
    tags: ['events'], summary: 'Platform events: isolations with their evidence, releases, crashes, out-of-memory kills',
    querystring: Type.Object({
      function: Type.Optional(Type.String()), type: Type.Optional(Type.String()),
      since: Type.Optional(Type.Integer({ description: 'only events after this sequence number' })),
    }),
    response: { 200: { description: 'events, oldest first', schema: list('Event') } },
  },
  'GET /v1/watch': {
    tags: ['console'], summary: 'What the console shows, pushed as server-sent events while it is open',
    description: 'Events: `hello` (`{topics, refused, namespace}`), then one event per topic whenever its state changed (checked each second): `functions` (as GET /v1/functions), `series` (function ref to its series), `events` (new platform events only), `pools`, `nodes`, `executions` (the newest 100), `invocations` (`{recent, dead}`, the newest 100 each); `problem` when a store could not be read. Each carries only what the token may read; a topic the token\'s role does not read is refused (named in `hello`), not an error.',
    querystring: Type.Object({
      topics: Type.Optional(Type.String({ description: 'comma-separated: functions, series, events, pools, nodes, executions, invocations (default: functions,series,events)' })),
      namespace: Type.Optional(Type.String({ description: 'one namespace, or `*` for every namespace the token reads' })),
    }),
    response: { 200: { description: 'a stream of server-sent events', contentType: 'text/event-stream', schema: Type.String() } },
  },
  'GET /v1/functions/:name/series': {
    tags: ['console'], summary: 'The function\'s request rate, 5xx share and p50/p99 latency of the last minutes', params: Name('function'),
    response: {
      200: {
        description: 'one point per interval, oldest first; the last one ends at `end`',
        schema: Type.Object({
          intervalMs: Type.Integer(), end: Type.Integer({ description: 'ms since the epoch' }),
          rate: Type.Array(Type.Number(), { description: 'answers per second' }),
          errors: Type.Array(Type.Number(), { description: 'share of 5xx answers' }),
          p50: Type.Array(Type.Union([Type.Number(), Type.Null()]), { description: 'median duration in ms; null without answers' }),
          p99: Type.Array(Type.Union([Type.Number(), Type.Null()]), { description: '99th percentile duration in ms; null without answers' }),
        }),
      },
    },
  },
  'GET /v1/nodes': { tags: ['nodes'], summary: 'Nodes with their labels, taints, capacity, usage and instances', response: { 200: { description: 'every node', schema: list('Node') } } },
  'GET /v1/runtimes': { tags: ['runtimes'], summary: 'List runtimes with their pools', response: { 200: { description: 'every runtime', schema: list('Runtime') } } },
  'POST /v1/runtimes': { tags: ['runtimes'], summary: 'Register a runtime', body: ref('Runtime'), response: { 201: { description: 'created', schema: ref('Runtime') } } },
  'PUT /v1/runtimes/:name': { tags: ['runtimes'], summary: 'Create or update a runtime (its pool resizes live)', params: Name('runtime'), body: ref('Runtime'), response: { 200: { description: 'stored', schema: ref('Runtime') } } },
  'GET /v1/runtimes/:name': { tags: ['runtimes'], summary: 'Read a runtime and its pool', params: Name('runtime'), response: { 200: { description: 'the runtime', schema: ref('Runtime') } } },
  'DELETE /v1/runtimes/:name': { tags: ['runtimes'], summary: 'Delete a runtime no function uses', params: Name('runtime'), response: deleted },
  'GET /v1/pools': { tags: ['pools'], summary: 'Generic pools with their instances being specialized and in use', response: { 200: { description: 'every pool', schema: list('Pool') } } },
  'PUT /v1/pools/:runtime': {
    tags: ['pools'], summary: 'Resize a runtime\'s generic pool (live, kept in the runtime)',
    params: Type.Object({ runtime: Type.String() }, { required: ['runtime'] }),
    body: Type.Object({ size: Type.Integer({ minimum: 0, maximum: 1000 }) }, { required: ['size'] }),
    response: { 200: { description: 'the pool', schema: ref('Pool') } },
  },
  'GET /v1/instances': { tags: ['instances'], summary: 'Every running instance', response: { 200: { description: 'every instance', schema: list('Instance') } } },
  'GET /v1/triggers': { tags: ['triggers'], summary: 'List HTTP routes', response: { 200: { description: 'every route', schema: list('HTTPTrigger') } } },
  'POST /v1/triggers': {
    tags: ['triggers'], summary: 'Add an HTTP route to a function or a workflow', body: ref('HTTPTrigger'),
    description: '`metadata.name` may be left out (it is made from the method and path). Paths under /v1, /fn, /wf, /ns, /async, /healthz, /livez, /readyz, /metrics, /internal and /ui are reserved.',
    response: { 201: { description: 'created', schema: ref('HTTPTrigger') } },
  },
  'GET /v1/triggers/:name': { tags: ['triggers'], summary: 'Read an HTTP route', params: Name('route'), response: { 200: { description: 'the route', schema: ref('HTTPTrigger') } } },
  'DELETE /v1/triggers/:name': { tags: ['triggers'], summary: 'Delete an HTTP route', params: Name('route'), response: deleted },
  'PUT /v1/triggers/:name': {
    tags: ['triggers'], summary: 'Create or replace an HTTP route by name (what `kiln apply` writes)', params: Name('route'), body: ref('HTTPTrigger'),
    response: { 200: { description: 'replaced', schema: ref('HTTPTrigger') }, 201: { description: 'created', schema: ref('HTTPTrigger') } },
  },
  'POST /v1/packages': {
    tags: ['packages'], summary: 'Upload a code package (content-addressed)',
    querystring: Type.Object({ sha256: Type.Optional(Type.String({ description: 'refuse the upload unless the archive has this sha256' })) }),
    bodyContent: { 'application/gzip': Binary, 'application/x-gzip': Binary, 'application/octet-stream': Binary, 'application/x-tar': Binary },
    response: { 201: { description: 'stored', schema: ref('PackageInfo') } },
  },
  'GET /v1/packages': { tags: ['packages'], summary: 'List stored packages', response: { 200: { description: 'every package', schema: list('PackageInfo') } } },
  'GET /v1/packages/:sha': { tags: ['packages'], summary: 'Download a package', params: Sha, response: { 200: { description: 'the archive', contentType: 'application/gzip', schema: Binary } } },
  'DELETE /v1/packages/:sha': { tags: ['packages'], summary: 'Delete a package no function uses', params: Sha, response: deleted },
  'GET /v1/workflows': { tags: ['workflows'], summary: 'List workflows', response: { 200: { description: 'every workflow', schema: list('Workflow') } } },
  'POST /v1/workflows': { tags: ['workflows'], summary: 'Deploy a workflow (checked against the deployed functions)', body: ref('Workflow'), response: { 201: { description: 'created', schema: ref('Workflow') } } },
  'PUT /v1/workflows/:name': {
    tags: ['workflows'], summary: 'Create or update a workflow', params: Name('workflow'), body: ref('Workflow'),
    response: { 200: { description: 'updated', schema: ref('Workflow') }, 201: { description: 'created', schema: ref('Workflow') } },
  },
  'GET /v1/workflows/:name': { tags: ['workflows'], summary: 'Read a workflow', params: Name('workflow'), response: { 200: { description: 'the workflow', schema: ref('Workflow') } } },
  'DELETE /v1/workflows/:name': { tags: ['workflows'], summary: 'Delete a workflow nothing starts', params: Name('workflow'), response: deleted },
  'POST /v1/workflows/:name/executions': {
    tags: ['executions'], summary: 'Run a workflow with the JSON body as its input', params: Name('workflow'),
    querystring: Type.Object({ async: Type.Optional(Type.String({ description: '`1`: answer 202 once the execution is stored' })) }),
    body: Type.Unknown({ description: 'the workflow\'s input' }),
    response: {
      200: { description: 'the finished execution (succeeded or failed)', schema: ref('Execution') },
      202: { description: 'started (`?async=1`); `Location` names it', schema: Type.Object({ executionId: Type.String(), workflow: Type.String(), status: Type.Literal('running') }) },
    },
  },
  'GET /v1/executions': {
    tags: ['executions'], summary: 'List workflow executions, newest first',
    querystring: Type.Object({
      workflow: Type.Optional(Type.String()),
      status: Type.Optional(Type.Union([Type.Literal('running'), Type.Literal('succeeded'), Type.Literal('failed')])),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    }),
    response: { 200: { description: 'executions', schema: list('ExecutionSummary') } },
  },
  'GET /v1/executions/:id': {
    tags: ['executions'], summary: 'Read an execution: status, per-task timing, outputs and errors',
    params: Type.Object({ id: Type.String() }, { required: ['id'] }),
    querystring: Type.Object({ spec: Type.Optional(Type.String({ description: '`1`: include the workflow spec it ran' })) }),
    response: { 200: { description: 'the execution', schema: ref('Execution') } },
  },
  'GET /v1/executions/:id/events': {
    tags: ['executions'], summary: 'An execution\'s history', params: Type.Object({ id: Type.String() }, { required: ['id'] }),
    response: { 200: { description: 'events, oldest first', schema: Type.Array(Type.Record(Type.String(), Type.Unknown())) } },
  },
  'POST /v1/executions/:id/cancel': {
    tags: ['executions'], summary: 'Cancel a running execution', params: Type.Object({ id: Type.String() }, { required: ['id'] }),
    response: { 200: { description: 'the execution, failed as cancelled', schema: ref('Execution') } },
  },
  'GET /v1/invocations': {
    tags: ['invocations'], summary: 'List async invocations, newest first',
    description: 'Those of the functions of the request\'s namespace (`?namespace=`, else the token\'s own); `?namespace=*` every namespace the token reads.',
    querystring: Type.Object({
      function: Type.Optional(Type.String({ description: 'a function\'s name (in every listed namespace with `?namespace=*`)' })),
      status: Type.Optional(Type.Union(['queued', 'running', 'succeeded', 'failed', 'dead'].map((s) => Type.Literal(s)))),
      source: Type.Optional(Type.String({ description: '`http` or `cron/NAME`' })),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    }),
    response: { 200: { description: 'invocations', schema: list('InvocationSummary') } },
  },
  'GET /v1/invocations/:id': {
    tags: ['invocations'], summary: 'Read an async invocation: status, attempts, result, error, callback',
    description: 'Ids are global; an invocation of a function in a namespace the token does not cover is not found (404).', params: Type.Object({ id: Type.String() }, { required: ['id'] }),
    response: { 200: { description: 'the invocation', schema: ref('Invocation') } },
  },
  'POST /v1/invocations/:id/retry': {
    tags: ['invocations'], summary: 'Queue a dead or failed invocation again, with a fresh count of attempts', params: Type.Object({ id: Type.String() }, { required: ['id'] }),
    response: { 200: { description: 'the invocation, queued', schema: ref('Invocation') } },
  },
  'POST /v1/invocations/:id/cancel': {
    tags: ['invocations'], summary: 'Fail a queued or running invocation (KILN_ERR_CANCELLED)', params: Type.Object({ id: Type.String() }, { required: ['id'] }),
    response: { 200: { description: 'the invocation, failed as cancelled', schema: ref('Invocation') } },
  },
  'GET /v1/crontriggers': { tags: ['crontriggers'], summary: 'List cron triggers with their next and last run', response: { 200: { description: 'cron triggers', schema: list('CronTrigger') } } },
  'POST /v1/crontriggers': { tags: ['crontriggers'], summary: 'Create a cron trigger (schedule, time zone and a function of its namespace checked)', body: ref('CronTrigger'), response: { 201: { description: 'created', schema: ref('CronTrigger') } } },
  'PUT /v1/crontriggers/:name': {
    tags: ['crontriggers'], summary: 'Create or replace a cron trigger', params: Name('cron trigger'), body: ref('CronTrigger'),
    response: { 200: { description: 'replaced', schema: ref('CronTrigger') }, 201: { description: 'created', schema: ref('CronTrigger') } },
  },
  'GET /v1/crontriggers/:name': { tags: ['crontriggers'], summary: 'Read a cron trigger', params: Name('cron trigger'), response: { 200: { description: 'the cron trigger', schema: ref('CronTrigger') } } },
  'DELETE /v1/crontriggers/:name': { tags: ['crontriggers'], summary: 'Delete a cron trigger (runs already started go on)', params: Name('cron trigger'), response: deleted },
  'GET /v1/functions/:name/versions': {
    tags: ['releases'], summary: 'A function\'s versions, oldest first, with where each serves now', params: Name('function'),
    response: { 200: { description: 'every retained version', schema: list('FunctionVersion') } },
  },
  'GET /v1/functions/:name/versions/:version': {
    tags: ['releases'], summary: 'One version of a function, with its full spec',
    params: Type.Object({ name: Type.String(), version: Type.Integer({ minimum: 1 }) }, { required: ['name', 'version'] }),
    response: { 200: { description: 'the version', schema: ref('FunctionVersion') } },
  },
  'POST /v1/functions/:name/rollback': {
    tags: ['releases'], summary: 'Send all traffic to an older version (default: the one before the version serving now)', params: Name('function'),
    body: Type.Object({ to: Type.Optional(Type.Integer({ minimum: 1 })) }),
    description: 'A running canary stops. Answers once the version serves every request of the main split, its warm instances ready.',
    response: { 200: { description: 'the versions before and after, and the traffic now', schema: Type.Object({ from: Type.Integer(), to: Type.Integer(), traffic: ref('FunctionTraffic') }) } },
  },
  'GET /v1/functions/:name/traffic': { tags: ['releases'], summary: 'Which versions serve the function: main split, aliases, canary', params: Name('function'), response: { 200: { description: 'the traffic record', schema: ref('FunctionTraffic') } } },
  'PUT /v1/functions/:name/traffic': {
    tags: ['releases'], summary: 'Set the main split (`kiln fn split`)', params: Name('function'), body: ref('Split'),
    description: 'Refused (409 KILN_ERR_CANARY_RUNNING) while a canary moves the traffic. Answers once applied: each version with traffic has its share of the warm instances.',
    response: { 200: { description: 'the traffic record', schema: ref('FunctionTraffic') } },
  },
  'PUT /v1/functions/:name/aliases/:alias': {
    tags: ['releases'], summary: 'Create or change an alias: a version (one target at 100) or a split of its own, reached at /fn/NAME@ALIAS',
    params: Type.Object({ name: Type.String(), alias: Type.String({ description: 'lower-case letters, digits and dashes, with a letter' }) }, { required: ['name', 'alias'] }), body: ref('Split'),
    response: { 200: { description: 'the traffic record', schema: ref('FunctionTraffic') } },
  },
  'DELETE /v1/functions/:name/aliases/:alias': {
    tags: ['releases'], summary: 'Delete an alias no route uses', params: Type.Object({ name: Type.String(), alias: Type.String() }, { required: ['name', 'alias'] }),
    response: { 200: { description: 'the traffic record', schema: ref('FunctionTraffic') } },
  },
  'POST /v1/functions/:name/canary': {
    tags: ['releases'], summary: 'Start a progressive canary to a version', params: Name('function'),
    body: Type.Object({
      to: Type.Integer({ minimum: 1 }), step: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 10 })),
      intervalMs: Type.Optional(Type.Integer({ minimum: 1000, default: 60_000 })), maxErrorRate: Type.Optional(Type.Number({ minimum: 0, maximum: 1, default: 0.01 })),
      maxP99Ms: Type.Optional(Type.Number({ exclusiveMinimum: 0 })), minRequests: Type.Optional(Type.Integer({ minimum: 1, default: 10 })),
    }, { required: ['to'] }),
    description: 'The new version gets `step`% at once (answered once its warm instances are ready). After each interval the router\'s measurements of it decide: over a bound, all traffic goes back (event CanaryRolledBack); within them, `step`% more, up to 100 (event CanaryPromoted).',
    response: { 201: { description: 'the canary', schema: ref('Canary') } },
  },
  'GET /v1/functions/:name/canary': { tags: ['releases'], summary: 'The function\'s canary (running or how the last one ended) and its last evaluation', params: Name('function'), response: { 200: { description: 'the canary', schema: ref('Canary') } } },
  'DELETE /v1/functions/:name/canary': {
    tags: ['releases'], summary: 'Abort the running canary: all traffic back to the version it started from', params: Name('function'),
    response: { 200: { description: 'the canary, aborted', schema: ref('Canary') } },
  },
  'GET /v1/version': {
    tags: ['meta'], summary: 'The server\'s version (no token needed; `kiln version` shows it beside the client\'s)',
    response: { 200: { description: 'the version', schema: Type.Object({ version: Type.String(), apiVersion: Type.String() }) } },
  },
  'GET /v1/mqtriggers': {
    tags: ['mqtriggers'], summary: 'List queue triggers with what their consumers are doing',
    description: 'Those of the request\'s namespace (`?namespace=`, else the token\'s own); `?namespace=*` every namespace the token reads.',
    response: { 200: { description: 'queue triggers', schema: list('QueueTrigger') } },
  },
  'POST /v1/mqtriggers': {
    tags: ['mqtriggers'], summary: 'Create a queue trigger (URL scheme, topics and a function of its namespace checked)', body: ref('QueueTrigger'),
    response: { 201: { description: 'created; its consumers start at once', schema: ref('QueueTrigger') } },
  },
  'PUT /v1/mqtriggers/:name': {
    tags: ['mqtriggers'], summary: 'Create or replace a queue trigger', params: Name('queue trigger'), body: ref('QueueTrigger'),
    description: 'A URL sent back as it was shown (its password as `***`) keeps the stored password.',
    response: { 200: { description: 'replaced', schema: ref('QueueTrigger') }, 201: { description: 'created', schema: ref('QueueTrigger') } },
  },
  'GET /v1/mqtriggers/:name': { tags: ['mqtriggers'], summary: 'Read a queue trigger and what its consumer here is doing', params: Name('queue trigger'), response: { 200: { description: 'the queue trigger', schema: ref('QueueTrigger') } } },
  'DELETE /v1/mqtriggers/:name': { tags: ['mqtriggers'], summary: 'Delete a queue trigger (its consumer group stays with the broker)', params: Name('queue trigger'), response: deleted },
  'GET /v1/openapi.json': { tags: ['meta'], summary: 'This document (OpenAPI 3.1)', response: { 200: { description: 'the OpenAPI document', schema: Type.Record(Type.String(), Type.Unknown()) } } },
}
