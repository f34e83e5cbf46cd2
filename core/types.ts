// Kiln's resource types. Each is a JSON schema (TypeBox) and the TypeScript type derived from it, so
// the controller validates, the CLI and the Kubernetes CRDs share one definition.
import { Type, type Static, type TSchema } from '@sinclair/typebox'

export const API_VERSION = 'kiln.dev/v1'

const Name = Type.String({ pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63, description: 'lower-case letters, digits and dashes' })
const StringMap = Type.Record(Type.String(), Type.String())

export const Metadata = Type.Object({
  name: Name,
  namespace: Type.Optional(Name),
  generation: Type.Optional(Type.Integer({ minimum: 1 })),
  createdAt: Type.Optional(Type.String()),
  updatedAt: Type.Optional(Type.String()),
  labels: Type.Optional(StringMap),
}, { additionalProperties: false })

export const Toleration = Type.Object({
  key: Type.String({ minLength: 1 }),
  value: Type.Optional(Type.String()),
  effect: Type.Optional(Type.Union([Type.Literal('NoSchedule'), Type.Literal('PreferNoSchedule'), Type.Literal('NoExecute')])),
}, { additionalProperties: false })

export const Resources = Type.Object({
  cpu: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 64, description: 'cores, e.g. 0.5' })),
  memory: Type.Optional(Type.String({ pattern: '^[0-9]+(\\.[0-9]+)?([KMGT]i?|[kmgt])?$', description: 'bytes, e.g. 128Mi' })),
  pids: Type.Optional(Type.Integer({ minimum: 8, maximum: 1_000_000 })),
}, { additionalProperties: false })

export const Strategy = Type.Union([Type.Literal('pool'), Type.Literal('warm'), Type.Literal('dedicated')])
export const ReusePolicy = Type.Union([Type.Literal('reuse'), Type.Literal('recycle'), Type.Literal('fresh')])
export const Shape = Type.Union([Type.Literal('kiln'), Type.Literal('fission'), Type.Literal('openfaas'), Type.Literal('lambda')])

/** GET requests sent to each instance made ready in the background, before it serves (executor/warm-up.ts). */
export const FunctionWarmup = Type.Object({
  path: Type.String({ pattern: '^/', maxLength: 2048, description: 'path and query as the function sees it, e.g. /?warmup=1' }),
  requests: Type.Optional(Type.Integer({ minimum: 1, maximum: 50 })),
}, { additionalProperties: false })
export type FunctionWarmup = Static<typeof FunctionWarmup>

/** One secret key exposed to the function as an environment variable (`--secret-env NAME:KEY=VAR`). */
export const SecretEnv = Type.Object({
  secret: Name,
  key: Type.String({ pattern: '^[-._a-zA-Z0-9]{1,253}$', description: 'a secret key: letters, digits, - . _' }),
  env: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,255}$', description: 'a POSIX environment variable name' }),
}, { additionalProperties: false })

/** Async invocations of the function (triggers/async): retries after a crash, timeout or 5xx, and how many run at once. */
export const AsyncPolicy = Type.Object({
  retries: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, description: 'attempts after the first' })),
  retryBackoffMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 3_600_000, description: 'first backoff; doubles per attempt, with full jitter' })),
  concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, description: 'async invocations in flight at once' })),
}, { additionalProperties: false })
export type AsyncPolicy = Static<typeof AsyncPolicy>

export const FunctionSpec = Type.Object({
  runtime: Name,
  package: Type.Object({ sha256: Type.String({ pattern: '^[a-f0-9]{64}$' }) }, { additionalProperties: false }),
  entrypoint: Type.String({ minLength: 1, maxLength: 512 }),
  shape: Type.Optional(Shape),
  env: Type.Optional(StringMap),
  resources: Type.Optional(Resources),
  timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 3_600_000 })),
  concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, description: 'in-flight requests per instance' })),
  maxBodyBytes: Type.Optional(Type.Integer({ minimum: 0 })),
  idleTimeoutMs: Type.Optional(Type.Integer({ minimum: 0 })),
  strategy: Type.Optional(Strategy),
  reuse: Type.Optional(ReusePolicy),
  maxRequests: Type.Optional(Type.Integer({ minimum: 1 })),
  maxAgeMs: Type.Optional(Type.Integer({ minimum: 1 })),
  minWarm: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 1000 }), Type.Literal('auto')])),
  warmup: Type.Optional(FunctionWarmup),
  minScale: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
  maxScale: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  queueSize: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000, description: 'requests that may wait for a slot' })),
  nodeSelector: Type.Optional(StringMap),
  tolerations: Type.Optional(Type.Array(Toleration)),
  private: Type.Optional(Type.Boolean({ description: 'callers need an invoker token (docs/security.md)' })),
  secrets: Type.Optional(Type.Array(Name, { maxItems: 64, uniqueItems: true })),
  secretEnv: Type.Optional(Type.Array(SecretEnv, { maxItems: 256 })),
  async: Type.Optional(AsyncPolicy),
}, { additionalProperties: false })

export const RuntimeSpec = Type.Object({
  protocol: Type.Optional(Type.Union([Type.Literal('kiln'), Type.Literal('fission')])),
  fissionVersion: Type.Optional(Type.Union([Type.Literal(1), Type.Literal(2)])),
  language: Type.Optional(Type.String()),
  command: Type.Optional(Type.Array(Type.String(), { minItems: 1 })),
  image: Type.Optional(Type.String()),
  port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  poolSize: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
  env: Type.Optional(StringMap),
}, { additionalProperties: false })

export const HTTPTriggerSpec = Type.Object({
  method: Type.String({ pattern: '^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|ANY)$' }),
  path: Type.String({ pattern: '^/', maxLength: 1024 }),
  host: Type.Optional(Type.String()),
  function: Type.Optional(Name),
  workflow: Type.Optional(Name),
}, { additionalProperties: false })

function resource<K extends string, S extends TSchema>(kind: K, spec: S) {
  return Type.Object({
    apiVersion: Type.Optional(Type.Literal(API_VERSION)),
    kind: Type.Optional(Type.Literal(kind)),
    metadata: Metadata,
    spec,
    status: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  }, { additionalProperties: false })
}

export const FunctionResource = resource('Function', FunctionSpec)
export const RuntimeResource = resource('Runtime', RuntimeSpec)
export const HTTPTriggerResource = resource('HTTPTrigger', HTTPTriggerSpec)
/** The spec is the workflow document; workflows/spec.ts (parseWorkflow) checks its structure. */
export const WorkflowResource = resource('Workflow', Type.Record(Type.String(), Type.Unknown()))

export type FunctionSpec = Static<typeof FunctionSpec>
export type RuntimeSpec = Static<typeof RuntimeSpec>
export type HTTPTriggerSpec = Static<typeof HTTPTriggerSpec>
export type Metadata = Static<typeof Metadata>
export type FunctionResource = Static<typeof FunctionResource>
export type RuntimeResource = Static<typeof RuntimeResource>
export type HTTPTriggerResource = Static<typeof HTTPTriggerResource>
export type WorkflowResource = Static<typeof WorkflowResource>

export interface Resource { apiVersion?: string; kind?: string; metadata: Metadata; spec: unknown; status?: Record<string, unknown> }

export type Kind = 'Function' | 'Runtime' | 'HTTPTrigger' | 'Workflow' | 'Namespace' | 'CronTrigger' | 'QueueTrigger'

/** Defaults applied when a function is read, so stored specs stay as the user wrote them. */
export const FUNCTION_DEFAULTS = {
  timeoutMs: 60_000,
  concurrency: 100,
  strategy: 'pool',
  reuse: 'reuse',
  shape: 'kiln',
  maxBodyBytes: 100 * 1024 * 1024,
  queueSize: 1000,
} as const

// ---- Namespaces (cluster-wide; docs/security.md) ----

export const NamespaceSpec = Type.Object({
  /** Instances may pass between different functions of this namespace (executor reuse boundary). */
  shareInstances: Type.Optional(Type.Boolean()),
  /** Private functions may run here even where the sandbox is incomplete (the operator's opt-in). */
  allowPrivateWithoutSandbox: Type.Optional(Type.Boolean()),
}, { additionalProperties: false })
export const NamespaceResource = resource('Namespace', NamespaceSpec)
export type NamespaceSpec = Static<typeof NamespaceSpec>
export type NamespaceResource = Static<typeof NamespaceResource>

/** Which kinds live in a namespace; the others (runtimes, namespaces, tokens, nodes, pools) are cluster-wide. */
export const NAMESPACED_KINDS: readonly string[] = ['Function', 'HTTPTrigger', 'Workflow', 'Secret', 'CronTrigger', 'QueueTrigger']

// ---- Secrets (values never leave the platform; core/store/secret-store.ts) ----

export const SECRET_KEY_PATTERN = new RegExp(SecretEnv.properties.key.pattern!)
/** Largest secret (all keys together), as Kubernetes allows. */
export const MAX_SECRET_BYTES = 1024 * 1024

// ---- Cron triggers (namespaced; triggers/cron) ----

/** A schedule that starts a function of its own namespace as an async invocation (triggers/cron). */
export const CronTriggerSpec = Type.Object({
  function: Name,
  schedule: Type.String({ minLength: 1, maxLength: 256, description: '5-field cron, 6-field with seconds, @hourly-style, or @every DURATION' }),
  timezone: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'an IANA time zone, e.g. Asia/Seoul' })),
  concurrency: Type.Optional(Type.Union([Type.Literal('allow'), Type.Literal('forbid'), Type.Literal('replace')])),
  /** the request body, sent as JSON */
  data: Type.Optional(Type.Unknown()),
}, { additionalProperties: false })
export const CronTriggerResource = resource('CronTrigger', CronTriggerSpec)
export type CronTriggerSpec = Static<typeof CronTriggerSpec>
export type CronTriggerResource = Static<typeof CronTriggerResource>

// ---- Queue triggers (namespaced; triggers/queue) ----

/** A message queue topic: a Redis stream key or a NATS subject (core/queue-trigger.ts checks each kind's syntax). */
const Topic = Type.String({ pattern: '^[!-~]+$', minLength: 1, maxLength: 255, description: 'printable ASCII without spaces' })

export const QueueKind = Type.Union([Type.Literal('redis-stream'), Type.Literal('nats')])

/** A queue trigger (Fission's MessageQueueTrigger): each message on `topic` becomes a call of `function`, of the trigger's own namespace. */
export const QueueTriggerSpec = Type.Object({
  kind: QueueKind,
  url: Type.String({ minLength: 1, maxLength: 2048, description: 'the broker, e.g. redis://host:6379 or nats://host:4222' }),
  topic: Topic,
  function: Name,
  responseTopic: Type.Optional(Topic),
  errorTopic: Type.Optional(Topic),
  maxRetries: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, description: 'attempts after the first' })),
  concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'messages in flight per platform process' })),
  contentType: Type.Optional(Type.String({ minLength: 1, maxLength: 255, pattern: '^[ -~]+$', description: 'printable ASCII, e.g. application/json' })),
}, { additionalProperties: false })
export const QueueTriggerResource = resource('QueueTrigger', QueueTriggerSpec)
export type QueueKind = Static<typeof QueueKind>
export type QueueTriggerSpec = Static<typeof QueueTriggerSpec>
export type QueueTriggerResource = Static<typeof QueueTriggerResource>

/** Queue trigger defaults (Fission's: no retries, JSON messages), applied when read. */
export const QUEUE_TRIGGER_DEFAULTS = {
  maxRetries: 0,
  concurrency: 1,
  contentType: 'application/json',
} as const
