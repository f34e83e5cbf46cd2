// The kinds `kiln apply`, `kiln diff`, `kiln delete -f` and `kiln get` know, one entry each: how to read
// the live objects, what of them is compared, how to write, how to delete, and what an object refers
// to. A new kind (cron triggers, queue triggers, aliases) is one entry in KINDS.
import { api, CliError, EXIT, failure, send, withNamespace } from '../client.js'
import type { Connection } from '../contexts.js'
import { API_VERSION, FUNCTION_DEFAULTS, type Resource } from '../../core/types.js'

/** The label `kiln apply` puts on what it writes: the apply set (folder) the object belongs to. */
export const APPLY_SET_LABEL = 'kiln.dev/apply-set'

export interface Ref { kind: string; name: string }

export interface KindEntry {
  kind: string
  /** Other names accepted in files (`Route` for HTTPTrigger). */
  aliases?: string[]
  /** Lives in a namespace (else cluster-wide). */
  namespaced: boolean
  /** Written in ascending order, deleted in descending order: what is referred to comes first. */
  order: number
  /** `--prune` may delete it when the folder no longer declares it. */
  prunable: boolean
  /** `kiln delete -f` may delete it (secrets are references: never). */
  deletable: boolean
  /** `kiln get all` lists it. */
  listed: boolean
  /** Every live object (in the connection's namespace, or all with -A). */
  list(conn: Connection): Promise<Resource[]>
  /** For kinds that cannot be listed: the live object matching a desired one, looked up by itself. */
  probe?(conn: Connection, desired: Resource): Promise<Resource | undefined>
  /** Whether the live object already is what the desired one asks (default: their comparables are equal). */
  satisfied?(desired: Resource, live: Resource): boolean
  /** The part of an object that apply compares and writes (spec with defaults filled, labels). */
  comparable(r: Resource): unknown
  /** Creates or replaces the object; answers what the server stored. */
  write(conn: Connection, desired: Resource, live: Resource | undefined): Promise<Resource>
  /** Deletes it; `cascade`: what refers to it too, where the API offers that (functions). */
  remove(conn: Connection, name: string, o?: { cascade?: boolean }): Promise<void>
  /** What it refers to: must exist (live or in the same apply) before it is written. */
  refs(r: Resource): Ref[]
  /** The object as a file declares it: what `kiln get -o yaml` prints and applies back unchanged. */
  export(r: Resource): Resource
}

const enc = encodeURIComponent

/** Labels the user declared (the apply set's own label is bookkeeping, not compared). */
export function userLabels(r: Resource): Record<string, string> | undefined {
  const l = { ...(r.metadata.labels ?? {}) }
  delete l[APPLY_SET_LABEL]
  return Object.keys(l).length ? l : undefined
}

/** Keys sorted at every level, so two equal objects print and compare the same. */
export function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical)
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined).map((k) => [k, canonical((v as Record<string, unknown>)[k])]))
  return v
}

/** What a file declares of a stored object: kind, name, namespace, labels, spec; no status or bookkeeping. */
function plain(r: Resource, kind: string, namespaced: boolean): Resource {
  const labels = r.metadata.labels && Object.keys(r.metadata.labels).length ? r.metadata.labels : undefined
  return {
    apiVersion: API_VERSION, kind,
    metadata: { name: r.metadata.name, ...(namespaced && r.metadata.namespace ? { namespace: r.metadata.namespace } : {}), ...(labels ? { labels } : {}) },
    spec: r.spec,
  }
}

function clusterConn(conn: Connection): Connection {
  return { ...conn, namespace: undefined, all: false }
}

/** 404 of the kind is "absent"; anything else is the server's answer. */
async function getOrUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try { return await p } catch (e) {
    if (e instanceof CliError && /_NOT_FOUND$/.test(e.code ?? '')) return undefined
    throw e
  }
}

/** An entry for a kind served by a plain `/v1/<path>` CRUD (GET list, PUT by name, DELETE by name). */
function crud(o: { kind: string; path: string; namespaced: boolean; order: number; aliases?: string[]; refs?: (r: Resource) => Ref[]; comparable?: (r: Resource) => unknown; prunable?: boolean; listed?: boolean }): KindEntry {
  const at = (conn: Connection) => (o.namespaced ? conn : clusterConn(conn))
  return {
    kind: o.kind, aliases: o.aliases, namespaced: o.namespaced, order: o.order, prunable: o.prunable ?? true, deletable: true, listed: o.listed ?? true,
    list: (conn) => api<Resource[]>(at(conn), 'GET', `/${o.path}`),
    comparable: o.comparable ?? ((r) => canonical({ labels: userLabels(r), spec: r.spec })),
    write: (conn, desired) => api<Resource>(at(conn), 'PUT', `/${o.path}/${enc(desired.metadata.name)}`, desired),
    remove: async (conn, name, r) => { await api(at(conn), 'DELETE', `/${o.path}/${enc(name)}${r?.cascade ? '?cascade=1' : ''}`) },
    refs: o.refs ?? (() => []),
    export: (r) => plain(r, o.kind, o.namespaced),
  }
}

/** A function's spec as it behaves: the defaults the platform applies when it reads one, filled in. */
function functionComparable(r: Resource): unknown {
  return canonical({ labels: userLabels(r), spec: { ...FUNCTION_DEFAULTS, ...(r.spec as object) } })
}

function functionRefs(r: Resource): Ref[] {
  const s = r.spec as { runtime?: string; secrets?: string[]; secretEnv?: { secret: string }[] }
  return [
    ...(s.runtime ? [{ kind: 'Runtime', name: s.runtime }] : []),
    ...[...new Set([...(s.secrets ?? []), ...(s.secretEnv ?? []).map((e) => e.secret)])].map((name) => ({ kind: 'Secret', name })),
  ]
}

function workflowFunctions(spec: unknown, out: Ref[] = []): Ref[] {
  if (Array.isArray(spec)) for (const v of spec) workflowFunctions(v, out)
  else if (spec && typeof spec === 'object') {
    const o = spec as Record<string, unknown>
    if (typeof o.function === 'string') out.push({ kind: 'Function', name: o.function })
    if (typeof o.workflow === 'string') out.push({ kind: 'Workflow', name: o.workflow })
    for (const [k, v] of Object.entries(o)) if (k !== 'function' && k !== 'workflow') workflowFunctions(v, out)
  }
  return out
}

const targetRefs = (r: Resource): Ref[] => {
  const s = r.spec as { function?: string; workflow?: string }
  return [...(s.function ? [{ kind: 'Function', name: s.function }] : []), ...(s.workflow ? [{ kind: 'Workflow', name: s.workflow }] : [])]
}

/** A secret in a folder names its keys only: apply checks it exists with them, and never sends or deletes values. */
const secretEntry: KindEntry = {
  kind: 'Secret', namespaced: true, order: 20, prunable: false, deletable: false, listed: true,
  list: async (conn) => (await api<{ metadata: Resource['metadata']; keys: { key: string }[] }[]>(conn, 'GET', '/secrets'))
    .map((s) => ({ apiVersion: API_VERSION, kind: 'Secret', metadata: { name: s.metadata.name, namespace: s.metadata.namespace }, spec: { keys: s.keys.map((k) => k.key).sort() } })),
  comparable: (r) => canonical({ keys: [...((r.spec as { keys?: string[] })?.keys ?? [])].sort() }),
  // A secret with more keys than the folder names satisfies it: the folder says what its functions read.
  satisfied: (desired, live) => ((desired.spec as { keys?: string[] }).keys ?? []).every((k) => ((live.spec as { keys?: string[] }).keys ?? []).includes(k)),
  write: async (_conn, desired, live) => {
    const want = (desired.spec as { keys?: string[] })?.keys ?? []
    const have = new Set((live?.spec as { keys?: string[] })?.keys ?? [])
    const missing = want.filter((k) => !have.has(k))
    if (!live || missing.length) {
      throw new CliError(live ? `secret ${desired.metadata.name} has no key ${missing.join(', ')}` : `secret ${desired.metadata.name} does not exist`, EXIT.USER,
        `secrets are never applied from files (values stay out of git): kiln secret ${live ? 'update' : 'create'} ${desired.metadata.name} ${want.map((k) => `--from-literal ${k}=...`).join(' ')}`, 'KILN_ERR_SECRET_NOT_FOUND')
    }
    return live
  },
  remove: async () => undefined,
  refs: () => [],
  export: (r) => ({ apiVersion: API_VERSION, kind: 'Secret', metadata: { name: r.metadata.name, ...(r.metadata.namespace ? { namespace: r.metadata.namespace } : {}) }, spec: r.spec }),
}

/**
 * A code package (content-addressed): uploaded when the server lacks it, never deleted by apply (a
 * package may serve other functions and versions). On Kubernetes the same object is a Package custom
 * resource the platform loads into its package store (deploy/crds/packages.yaml).
 */
const packageEntry: KindEntry = {
  kind: 'Package', namespaced: false, order: 25, prunable: false, deletable: false, listed: false,
  list: async () => [],
  probe: async (conn, desired) => {
    const sha = (desired.spec as { sha256: string }).sha256
    const res = await send(conn, 'GET', withNamespace(conn, `/v1/packages/${sha}`), undefined, {})
    return res.status === 200 ? desired : undefined
  },
  comparable: (r) => canonical({ sha256: (r.spec as { sha256?: string }).sha256 }),
  write: async (conn, desired) => {
    const spec = desired.spec as { sha256: string; archive: string }
    const res = await send(conn, 'POST', withNamespace(conn, `/v1/packages?sha256=${spec.sha256}`, 'POST'), Buffer.from(spec.archive, 'base64'), { 'content-type': 'application/gzip' })
    if (res.status >= 400) throw failure(res)
    return desired
  },
  remove: async () => undefined,
  refs: () => [],
  export: (r) => r,
}

export const KINDS: KindEntry[] = [
  crud({ kind: 'Namespace', path: 'namespaces', namespaced: false, order: 0, prunable: false, listed: false }),
  crud({ kind: 'Runtime', path: 'runtimes', namespaced: false, order: 10 }),
  secretEntry,
  packageEntry,
  crud({ kind: 'Function', path: 'functions', namespaced: true, order: 30, refs: functionRefs, comparable: functionComparable }),
  crud({ kind: 'Workflow', path: 'workflows', namespaced: true, order: 40, refs: (r) => workflowFunctions((r.spec as { tasks?: unknown }).tasks),
    // The server names the spec after the resource when it has no name of its own.
    comparable: (r) => canonical({ labels: userLabels(r), spec: { name: r.metadata.name, ...(r.spec as object) } }) }),
  crud({ kind: 'HTTPTrigger', aliases: ['Route'], path: 'triggers', namespaced: true, order: 50, refs: targetRefs }),
  crud({ kind: 'CronTrigger', path: 'crontriggers', namespaced: true, order: 50, refs: targetRefs }),
  // The server shows a broker URL's password as `***` (and keeps it when it is sent back so): compared the same way.
  crud({ kind: 'QueueTrigger', path: 'mqtriggers', namespaced: true, order: 50, refs: targetRefs,
    comparable: (r) => canonical({ labels: userLabels(r), spec: { ...(r.spec as object), url: redactedUrl((r.spec as { url?: string }).url) } }) }),
]

/** A broker URL with its password as `***` (as the API shows it). */
function redactedUrl(url: string | undefined): string | undefined {
  if (url === undefined) return undefined
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return url
  }
}

export function kindEntry(kind: string): KindEntry | undefined {
  return KINDS.find((k) => k.kind === kind || k.aliases?.includes(kind))
}

export async function liveObject(entry: KindEntry, conn: Connection, name: string, cache: Map<string, Resource[]>, desired?: Resource): Promise<Resource | undefined> {
  if (entry.probe && desired) return entry.probe(conn, desired)
  const key = `${entry.kind} ${entry.namespaced ? conn.namespace ?? '' : ''}`
  let list = cache.get(key)
  if (!list) {
    list = await getOrUndefined(entry.list(conn)) ?? []
    cache.set(key, list)
  }
  return list.find((r) => r.metadata.name === name)
}
