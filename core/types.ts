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
  openFiles: Type.Optional(Type.Integer({ minimum: 64, maximum: 1_048_576, description: 'open file descriptors per process' })),
  fileSize: Type.Optional(Type.String({ pattern: '^[0-9]+(\\.[0-9]+)?([KMGT]i?|[kmgt])?$', description: 'largest file a process may write, e.g. 64Mi' })),
  tmp: Type.Optional(Type.String({ pattern: '^[0-9]+(\\.[0-9]+)?([KMGT]i?|[kmgt])?$', description: 'size of the private /tmp, e.g. 64Mi' })),
  /** What the instance is guaranteed (Kubernetes: the pod's requests of a `dedicated` function's own pods); cpu and memory above are its limits. */
  requests: Type.Optional(Type.Object({
    cpu: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 64, description: 'cores, e.g. 0.25' })),
    memory: Type.Optional(Type.String({ pattern: '^[0-9]+(\\.[0-9]+)?([KMGT]i?|[kmgt])?$', description: 'bytes, e.g. 64Mi' })),
  }, { additionalProperties: false })),
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
  /** With `function`: serve this version of it (`/fn/NAME@N`), or the versions its alias names (`@ALIAS`). */
  version: Type.Optional(Type.Integer({ minimum: 1 })),
  alias: Type.Optional(Type.String({ pattern: '^(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63, description: 'an alias of the function' })),
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
export const NAMESPACED_KINDS: readonly string[] = ['Function', 'HTTPTrigger', 'Workflow', 'Secret', 'CronTrigger', 'QueueTrigger', 'FunctionVersion', 'FunctionTraffic']

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
// ---- Releases: immutable function versions, traffic splits, aliases, canaries (docs/releases.md) ----

/** An alias name: a Kiln name with at least one letter, so `@3` (a version) and `@prod` (an alias) never mix. */
export const ALIAS_PATTERN = /^(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?$/

/** One version's share of a split, in percent. */
export const TrafficTarget = Type.Object({
  version: Type.Integer({ minimum: 1 }),
  weight: Type.Integer({ minimum: 0, maximum: 100, description: 'percent of the requests' }),
}, { additionalProperties: false })

/** Which versions serve, with what weights (summing to 100); sticky by a header or a cookie when asked. */
export const Split = Type.Object({
  targets: Type.Array(TrafficTarget, { minItems: 1, maxItems: 10 }),
  stickyHeader: Type.Optional(Type.String({ pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$", description: 'an HTTP header name' })),
  stickyCookie: Type.Optional(Type.String({ pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$", description: 'a cookie name' })),
}, { additionalProperties: false })
export type Split = Static<typeof Split>

/** A progressive canary and where it stands; the canary loop (router/canary/) moves it on. */
export const Canary = Type.Object({
  from: Type.Integer({ minimum: 1, description: 'the version serving before the canary, and after a rollback' }),
  to: Type.Integer({ minimum: 1, description: 'the version under test' }),
  step: Type.Integer({ minimum: 1, maximum: 100, description: 'percent added after each healthy interval' }),
  intervalMs: Type.Integer({ minimum: 1000, maximum: 86_400_000 }),
  maxErrorRate: Type.Number({ minimum: 0, maximum: 1, description: 'share of 5xx answers (the router\'s own 502/504 included) above which it rolls back' }),
  maxP99Ms: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'p99 latency above which it rolls back' })),
  minRequests: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'requests to the new version an interval needs before it is judged (default 10)' })),
  state: Type.Union([Type.Literal('running'), Type.Literal('promoted'), Type.Literal('rolledBack'), Type.Literal('aborted')]),
  weight: Type.Integer({ minimum: 0, maximum: 100, description: 'the new version\'s weight now' }),
  startedAt: Type.String(),
  /** When the current weight was set (an interval is measured from here, or from a restart). */
  stepAt: Type.String(),
  finishedAt: Type.Optional(Type.String()),
  reason: Type.Optional(Type.String()),
  lastEvaluation: Type.Optional(Type.Object({
    at: Type.String(), weight: Type.Integer(), requests: Type.Integer(), errors: Type.Integer(),
    errorRate: Type.Number(), p99Ms: Type.Optional(Type.Number()), verdict: Type.String(),
  }, { additionalProperties: false })),
}, { additionalProperties: false })
export type Canary = Static<typeof Canary>

/** An immutable snapshot of a function: its full spec (package sha included), who made it and what changed. */
export const FunctionVersionSpec = Type.Object({
  function: Name,
  version: Type.Integer({ minimum: 1 }),
  spec: FunctionSpec,
  createdBy: Type.Object({ id: Type.String(), name: Type.Optional(Type.String()) }, { additionalProperties: false }),
  /** The spec fields that differ from the version before (empty for the first). */
  changed: Type.Array(Type.String()),
  note: Type.Optional(Type.String()),
}, { additionalProperties: false })
export type FunctionVersionSpec = Static<typeof FunctionVersionSpec>
export const FunctionVersionResource = resource('FunctionVersion', FunctionVersionSpec)
export type FunctionVersionResource = Static<typeof FunctionVersionResource>

/**
 * Which versions serve a function (`/fn/NAME`), its aliases (`/fn/NAME@ALIAS`) and its canary: kept apart
 * from the Function, so re-applying the function's spec never resets a split or a canary.
 */
export const FunctionTrafficSpec = Type.Object({
  function: Name,
  traffic: Split,
  aliases: Type.Optional(Type.Record(Type.String({ pattern: ALIAS_PATTERN.source }), Split)),
  canary: Type.Optional(Canary),
  /** The newest version when this record was written: an executor that applied it has seen every deploy up to it. */
  latestVersion: Type.Optional(Type.Integer({ minimum: 1 })),
}, { additionalProperties: false })
export type FunctionTrafficSpec = Static<typeof FunctionTrafficSpec>
export const FunctionTrafficResource = resource('FunctionTraffic', FunctionTrafficSpec)
export type FunctionTrafficResource = Static<typeof FunctionTrafficResource>

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
