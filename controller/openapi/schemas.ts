// The shapes the OpenAPI document names (`#/components/schemas/...`): the resources are core/types.ts'
// TypeBox schemas, the very ones the API validates with; the read models' answers are described here.
// Documentation only: fastify never validates or serializes with these.
import { Type, type TSchema } from '@sinclair/typebox'
import { ERRORS } from '../../core/errors.js'
import { Canary, CronTriggerResource, FunctionResource, FunctionTrafficResource, FunctionVersionResource, HTTPTriggerResource, QueueTriggerResource, RuntimeResource, Split, WorkflowResource } from '../../core/types.js'

/** A reference to one of these components. */
export const ref = (name: string): TSchema => Type.Unsafe({ $ref: `#/components/schemas/${name}` })

const Open = (props: Parameters<typeof Type.Object>[0], description: string) => Type.Object(props, { additionalProperties: true, description })

const InvocationStatus = Type.Union(['queued', 'running', 'succeeded', 'failed', 'dead'].map((s) => Type.Literal(s)))

const InstanceState = Type.Union(['generic', 'specializing', 'warming', 'ready', 'busy', 'draining', 'gone'].map((s) => Type.Literal(s)))

export const COMPONENTS: Record<string, TSchema> = {
  Error: Type.Object({
    error: Type.Union(Object.keys(ERRORS).map((c) => Type.Literal(c)), { description: 'the catalogue code (core/errors.ts); clients map this, never the message' }),
    message: Type.String(),
    hint: Type.Optional(Type.String({ description: 'what to do next' })),
  }, { additionalProperties: true, description: 'Every error answer: a catalogue code with its HTTP status, a message and, where there is one, a hint' }),
  Function: { ...FunctionResource, description: 'A function: its code package, runtime, entrypoint, limits, strategy and reuse policy. Read back, `status` is its live status (FunctionStatus)' },
  Runtime: { ...RuntimeResource, description: 'A runtime server program (or image) and its generic pool. Read back, `status.pool` is its pool (Pool)' },
  HTTPTrigger: { ...HTTPTriggerResource, description: 'An HTTP route (method, path, host) to a function or a workflow' },
  Workflow: { ...WorkflowResource, description: 'A workflow: functions composed into a DAG (docs/workflows.md); `spec` is the workflow document' },
  Instance: Open({
    id: Type.String(), runtime: Type.String(), node: Type.String(), state: InstanceState,
    function: Type.Optional(Type.String()), version: Type.Optional(Type.String()),
    inflight: Type.Integer(), requests: Type.Integer(), ageMs: Type.Number(), idleMs: Type.Number(),
    pid: Type.Integer(), url: Type.String(), bootMs: Type.Number(),
    cpuCores: Type.Optional(Type.Number()), memoryBytes: Type.Optional(Type.Integer()), throttleRatio: Type.Optional(Type.Number()),
  }, 'One running runtime instance'),
  FunctionStatus: Open({
    strategy: Type.String(), reuse: Type.String(), shape: Type.String(), version: Type.String(), concurrency: Type.Integer(),
    requests: Type.Integer(), specializations: Type.Integer(), coldStarts: Type.Integer(), returnedToPool: Type.Integer(),
    queued: Type.Integer(), specializing: Type.Integer(),
    instances: Type.Array(ref('Instance')),
    isolation: Type.Optional(Open({ reason: Type.String(), by: Type.String(), since: Type.String(), evidence: Type.Record(Type.String(), Type.Unknown()) }, 'set while the function is isolated')),
  }, 'A function as the executor serves it (absent where this process runs no instances)'),
  Pool: Open({
    runtime: Type.String(), placement: Type.String(), target: Type.Integer(), ready: Type.Integer(), booting: Type.Integer(),
    specializing: Type.Optional(Type.Integer()), inUse: Type.Optional(Type.Integer()),
  }, 'A generic pool of one runtime on one placement'),
  Node: Open({
    name: Type.String(), labels: Type.Record(Type.String(), Type.String()), taints: Type.Array(Type.Unknown()),
    capacity: Type.Record(Type.String(), Type.Unknown()), usage: Type.Record(Type.String(), Type.Unknown()),
    instances: Type.Array(Open({ id: Type.String(), function: Type.Optional(Type.String()), state: InstanceState }, 'an instance on the node')),
  }, 'A node instances run on, with its usage'),
  Event: Open({
    seq: Type.Integer(), at: Type.String({ format: 'date-time' }), type: Type.String({ description: 'FunctionIsolated, FunctionReleased, InstanceExited, InstanceOutOfMemory, CanaryStarted, CanaryPromoted, CanaryRolledBack, CanaryAborted, ...' }),
    function: Type.Optional(Type.String()), reason: Type.String(), evidence: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  }, 'A platform event'),
  PackageInfo: Type.Object({ sha256: Type.String(), size: Type.Integer(), files: Type.Optional(Type.Array(Type.String())) }, { additionalProperties: true, description: 'A stored code package' }),
  Execution: Open({
    id: Type.String(), workflow: Type.String(), status: Type.Union([Type.Literal('running'), Type.Literal('succeeded'), Type.Literal('failed')]),
    input: Type.Unknown(), output: Type.Optional(Type.Unknown()), error: Type.Optional(Type.Unknown()),
    createdAt: Type.String(), finishedAt: Type.Optional(Type.String()), durationMs: Type.Optional(Type.Number()),
    tasks: Type.Record(Type.String(), Type.Unknown()),
  }, 'A workflow execution'),
  ExecutionSummary: Open({ id: Type.String(), workflow: Type.String(), status: Type.String(), createdAt: Type.String(), finishedAt: Type.Optional(Type.String()) }, 'A workflow execution in a list'),
  Deleted: Type.Object({ deleted: Type.String() }, { description: 'What was deleted' }),
  Invocation: Open({
    id: Type.String(), function: Type.String({ description: 'the function\'s name' }), namespace: Type.String({ description: 'the function\'s namespace: the invocation\'s' }),
    status: InvocationStatus, attempts: Type.Integer(), source: Type.String({ description: '`http`, `cron/NAME`' }),
    createdAt: Type.String(), startedAt: Type.Optional(Type.String()), finishedAt: Type.Optional(Type.String()), nextAttemptAt: Type.Optional(Type.String()),
    request: Open({ method: Type.String(), path: Type.String(), headers: Type.Record(Type.String(), Type.String()), bodyBytes: Type.Integer() }, 'the stored request, without its body'),
    result: Type.Optional(Open({ status: Type.Integer(), headers: Type.Record(Type.String(), Type.Unknown()), body: Type.String(), encoding: Type.Optional(Type.Literal('base64')), truncated: Type.Optional(Type.Boolean()) }, 'the last answer')),
    error: Type.Optional(Open({ code: Type.String(), message: Type.String(), status: Type.Optional(Type.Integer()) }, 'why the last attempt failed')),
    callback: Type.Optional(Open({ url: Type.String(), state: Type.String(), attempts: Type.Integer(), error: Type.Optional(Type.String()), deliveredAt: Type.Optional(Type.String()) }, 'the X-Callback-Url delivery')),
  }, 'An async invocation (docs/events.md)'),
  InvocationSummary: Open({ id: Type.String(), function: Type.String(), namespace: Type.String(), status: InvocationStatus, attempts: Type.Integer(), source: Type.String(), createdAt: Type.String(), finishedAt: Type.Optional(Type.String()) }, 'An async invocation in a list'),
  CronTrigger: Type.Composite([CronTriggerResource, Type.Object({ status: Type.Optional(Open({ nextRun: Type.Optional(Type.String()), lastRun: Type.Optional(Type.Record(Type.String(), Type.Unknown())) }, 'the next run and how the last one went')) })], { description: 'A schedule that starts a function of its own namespace as an async invocation' }),
  FunctionVersion: { ...FunctionVersionResource, description: 'An immutable version of a function: its full spec (package sha included), who made it (`createdBy`, the token), when (`metadata.createdAt`) and what changed from the version before. Read back, `status` says where it serves now (`weight` in the main split, `aliases`)' },
  FunctionTraffic: { ...FunctionTrafficResource, description: 'Which versions serve a function: the main split (`/fn/NAME`), its aliases (`/fn/NAME@ALIAS`) and its canary. Read back, `status.latestVersion` is its newest version and `status.live` each live version as the executor serves it' },
  Split: { ...Split, description: 'Versions and their weights in percent (summing to 100); sticky by a header or a cookie, otherwise picked per request' },
  Canary: { ...Canary, description: 'A progressive canary and where it stands: state, weight, the last evaluation of the new version\'s error rate and p99' },
  QueueTrigger: Type.Composite([QueueTriggerResource, Type.Object({
    status: Type.Optional(Open({
      connected: Type.Optional(Type.Boolean({ description: 'whether the broker answers (absent until the first try)' })),
      inFlight: Type.Integer(), delivered: Type.Integer(), succeeded: Type.Integer(), failedAttempts: Type.Integer(), deadLettered: Type.Integer(),
      lastError: Type.Optional(Type.String()),
    }, 'what the consumer in the answering process is doing (absent where it runs none, e.g. the control API alone)')),
  })], { description: 'Each message on a Redis stream or a NATS JetStream subject calls a function of the trigger\'s own namespace (docs/events.md). Read back, a password in `spec.url` is `***`' }),
}
