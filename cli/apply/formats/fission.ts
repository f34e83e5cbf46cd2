// A Fission spec folder as `fission spec init` and `fission fn create --spec` write it (fission.io/v1:
// DeploymentConfig, ArchiveUploadSpec, Environment, Package, Function, HTTPTrigger, TimeTrigger,
// MessageQueueTrigger), read unchanged and turned into Kiln resources:
// - an Environment whose image is one of Fission's published node or python images is Kiln's built-in
//   runtime of that language; any other image is a `protocol: fission` Runtime (on Kubernetes);
// - a Package's deployment (or source) archive, `archive://NAME`, is the ArchiveUploadSpec's files
//   (include globs relative to the folder above the specs, each match at its base name, as Fission
//   zips them), built by Kiln's builder of the runtime's language (Fission's buildcmd is not run: the
//   builder installs requirements.txt / package.json itself);
// - a Function's executor type picks the strategy (poolmgr: pool; newdeploy: dedicated with its scale),
//   its timeouts are seconds, `requestsPerPod` is the concurrency per instance, `onceOnly` reuse fresh;
// - HTTPTriggers are routes (one per method), TimeTriggers cron triggers, MessageQueueTriggers queue
//   triggers, when this Kiln has those kinds.
// The DeploymentConfig's uid names the apply set, as Fission's own apply uses it.
import { cp, mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises'
import { statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, isAbsolute, join, resolve } from 'node:path'
import { unzipSync } from 'fflate'
import { glob } from 'tinyglobby'
import { CliError, EXIT } from '../../client.js'
import { parseCpuQuantity } from '../../../core/quantity.js'
import { API_VERSION, type Resource } from '../../../core/types.js'
import type { Doc } from '../documents.js'
import type { CodeRef, Conversion, Desired } from '../desired.js'
import { kindEntry } from '../kinds.js'

export const FISSION_API = 'fission.io/v1'
const LOCAL_KINDS = ['ArchiveUploadSpec', 'DeploymentConfig']

export function isFissionDoc(d: Doc): boolean {
  return d.doc.apiVersion === FISSION_API || (d.doc.apiVersion === undefined && LOCAL_KINDS.includes(String(d.doc.kind)))
}

type Obj = Record<string, any>
const bad = (where: string, why: string) => new CliError(`${where}: ${why}`, EXIT.USER, undefined, 'KILN_ERR_VALIDATION')

/** Fission's published environment images (fission/node-env, ghcr.io/fission/python-env-3.11, ...) → Kiln's runtime. */
export function builtinRuntimeFor(image: string): string | undefined {
  const m = /(?:^|\/)fission\/(node|python)-env(?:[-:@]|$)/.exec(image)
  return m ? m[1] : undefined
}

/** Fission's namespace `default` (or none) is the connection's; any other is that Kiln namespace. */
function nsOf(meta: Obj | undefined): string | undefined {
  const ns = meta?.namespace
  return typeof ns === 'string' && ns !== '' && ns !== 'default' ? ns : undefined
}

interface Archive { name: string; where: string; dir: string; include: string[]; exclude: string[]; rootdir?: string }

/** The files of an ArchiveUploadSpec, staged in a temp folder (each match at its base name), or the one file itself. */
async function stageArchive(a: Archive): Promise<{ source: string; cleanup(): Promise<void> }> {
  const root = a.rootdir ? resolve(a.dir, a.rootdir) : resolve(a.dir, '..')
  const matches = new Set<string>()
  for (const pattern of a.include) {
    if (isAbsolute(pattern)) { matches.add(pattern); continue }
    for (const m of await glob(pattern, { cwd: root, absolute: true, onlyFiles: false, dot: false, ignore: a.exclude, expandDirectories: false })) matches.add(m.replace(/\/$/, ''))
  }
  const files = [...matches].sort()
  if (files.length === 0) throw bad(a.where, `archive "${a.name}" is empty: no file matches ${a.include.join(', ')} under ${root}`)
  const single = files.length === 1 && statSync(files[0]).isFile() ? files[0] : undefined
  if (single && !/\.zip$/i.test(single)) return { source: single, cleanup: async () => undefined }
  const dir = await mkdtemp(join(tmpdir(), 'kiln-fission-archive-'))
  const cleanup = () => rm(dir, { recursive: true, force: true })
  try {
    if (single) await unzipInto((await import('node:fs')).readFileSync(single), dir)
    else for (const f of files) await cp(f, join(dir, basename(f)), { recursive: true })
  } catch (e) {
    await cleanup()
    throw e
  }
  return { source: dir, cleanup }
}

async function unzipInto(zip: Buffer, dir: string): Promise<void> {
  const entries = unzipSync(new Uint8Array(zip))
  for (const [name, data] of Object.entries(entries)) {
    const target = resolve(dir, name)
    if (!target.startsWith(dir + '/')) throw new CliError(`zip entry ${name} points outside the archive`, EXIT.USER)
    if (name.endsWith('/')) { await mkdir(target, { recursive: true }); continue }
    await mkdir(dirname(target), { recursive: true })
    await writeFile(target, data)
  }
}

function literalArchive(where: string, literal: string): CodeRef['prepare'] {
  const bytes = Buffer.from(literal, 'base64')
  if (bytes.subarray(0, 2).toString('latin1') !== 'PK') throw bad(where, 'a literal package must be a zip archive')
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-fission-literal-'))
    await unzipInto(bytes, dir)
    return { source: dir, cleanup: () => rm(dir, { recursive: true, force: true }) }
  }
}

const seconds = (v: unknown) => (typeof v === 'number' && v > 0 ? Math.round(v * 1000) : undefined)

/** Fission's `{param}` (and gorilla mux's `{param:regex}`) → Kiln's `:param`. */
function routePath(url: string): string {
  return url.replace(/\{([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?\}/g, ':$1')
}

export function fromFission(docs: Doc[]): Conversion {
  const notes: string[] = []
  const items: Desired[] = []
  let setName: string | undefined
  const archives = new Map<string, Archive>()
  const envs = new Map<string, { doc: Doc; runtime: string; builtin: boolean; language?: string }>()
  const packages = new Map<string, Doc>()
  const byKind = (k: string) => docs.filter((d) => d.doc.kind === k)

  for (const d of byKind('DeploymentConfig')) setName = typeof d.doc.uid === 'string' && d.doc.uid ? d.doc.uid : String(d.doc.name ?? '') || undefined
  for (const d of byKind('ArchiveUploadSpec')) {
    const name = String(d.doc.name ?? '')
    if (!name) throw bad(d.where, 'ArchiveUploadSpec: name is required')
    archives.set(name, { name, where: d.where, dir: d.dir, include: (d.doc.include as string[]) ?? [], exclude: (d.doc.exclude as string[]) ?? [], rootdir: d.doc.rootdir as string | undefined })
  }
  const known = new Set(['DeploymentConfig', 'ArchiveUploadSpec', 'Environment', 'Package', 'Function', 'HTTPTrigger', 'TimeTrigger', 'MessageQueueTrigger'])
  for (const d of docs) {
    if (!known.has(String(d.doc.kind))) notes.push(`${d.where}: skipped ${String(d.doc.kind)} "${String((d.doc.metadata as Obj)?.name ?? '')}": Kiln has no such kind`)
  }

  for (const d of byKind('Environment')) {
    const meta = d.doc.metadata as Obj
    const spec = (d.doc.spec ?? {}) as Obj
    const image = String(spec.runtime?.image ?? '')
    const builtin = builtinRuntimeFor(image)
    if (builtin) {
      envs.set(meta.name, { doc: d, runtime: builtin, builtin: true, language: builtin })
      notes.push(`Environment ${meta.name} (${image}) → Kiln's built-in runtime ${builtin}`)
      continue
    }
    if (!image) throw bad(d.where, `Environment ${meta.name}: spec.runtime.image is required`)
    envs.set(meta.name, { doc: d, runtime: meta.name, builtin: false })
    items.push({
      kind: 'Runtime', name: meta.name, where: d.where,
      body: {
        apiVersion: API_VERSION, kind: 'Runtime', metadata: { name: meta.name },
        spec: { protocol: 'fission', fissionVersion: Number(spec.version ?? 1) >= 2 ? 2 : 1, image, port: 8888, ...(typeof spec.poolsize === 'number' ? { poolSize: spec.poolsize } : {}) },
      },
    })
    notes.push(`Environment ${meta.name} (${image}) → a protocol: fission runtime running that image (on Kubernetes)`)
  }
  for (const d of byKind('Package')) packages.set(`${nsOf(d.doc.metadata as Obj) ?? ''}/${(d.doc.metadata as Obj).name}`, d)

  /** The code of a Fission package: its deployment archive, else its source archive (built by Kiln's builder). */
  const codeOf = (fnWhere: string, pkgDoc: Doc, entrypoint: string | undefined, language: string | undefined): CodeRef => {
    const spec = (pkgDoc.doc.spec ?? {}) as Obj
    const pick = [spec.deployment, spec.source].find((a: Obj | undefined) => a && (a.url || a.literal)) as Obj | undefined
    const pkgName = (pkgDoc.doc.metadata as Obj).name
    if (!pick) throw bad(pkgDoc.where, `Package ${pkgName}: neither a deployment nor a source archive`)
    if (typeof pick.literal === 'string') return { label: `package ${pkgName} (literal)`, entrypoint, language, prepare: literalArchive(pkgDoc.where, pick.literal) }
    const url = String(pick.url)
    if (!url.startsWith('archive://')) throw bad(pkgDoc.where, `Package ${pkgName}: ${url}: only archive:// archives of the spec folder are applied (download it and name it in an ArchiveUploadSpec)`)
    const a = archives.get(url.slice('archive://'.length))
    if (!a) throw bad(pkgDoc.where, `Package ${pkgName} references unknown archive ${url} (for ${fnWhere})`)
    return { label: url, entrypoint, language, prepare: () => stageArchive(a) }
  }

  for (const d of byKind('Function')) {
    const meta = d.doc.metadata as Obj
    const spec = (d.doc.spec ?? {}) as Obj
    const name = String(meta.name)
    const env = envs.get(spec.environment?.name)
    if (!env) throw bad(d.where, `Function ${name} references environment "${spec.environment?.name}", which the folder does not declare`)
    const strategy = spec.InvokeStrategy?.ExecutionStrategy ?? {}
    const executor = String(strategy.ExecutorType || 'poolmgr')
    if (executor === 'container') throw bad(d.where, `Function ${name}: executor type container (a pod spec of its own) has no Kiln equivalent`)
    if (spec.configmaps?.length) throw bad(d.where, `Function ${name}: configmaps: Kiln has no config maps (use env, or a secret)`)
    const pkgRef = spec.package?.packageref ?? {}
    const pkgDoc = packages.get(`${nsOf({ namespace: pkgRef.namespace }) ?? ''}/${pkgRef.name}`)
    if (!pkgDoc) throw bad(d.where, `Function ${name} references package "${pkgRef.name}", which the folder does not declare`)
    const out: Obj = { runtime: env.runtime }
    if (env.builtin) out.shape = 'fission'
    if (executor === 'newdeploy') {
      out.strategy = 'dedicated'
      if (typeof strategy.MinScale === 'number' && strategy.MinScale > 0) out.minScale = strategy.MinScale
      if (typeof strategy.MaxScale === 'number' && strategy.MaxScale > 0) out.maxScale = strategy.MaxScale
    } else if (executor === 'poolmgr') {
      if (typeof spec.provisionedConcurrency?.target === 'number') { out.strategy = 'warm'; out.minWarm = spec.provisionedConcurrency.target }
      if (typeof spec.concurrency === 'number' && spec.concurrency > 0) out.maxScale = Math.min(spec.concurrency, 1000)
    } else throw bad(d.where, `Function ${name}: unknown executor type "${executor}" (poolmgr, newdeploy)`)
    if (typeof spec.requestsPerPod === 'number' && spec.requestsPerPod > 0) out.concurrency = spec.requestsPerPod
    if (spec.onceOnly === true) out.reuse = 'fresh'
    const timeout = seconds(spec.functionTimeout)
    if (timeout) out.timeoutMs = timeout
    const idle = seconds(spec.idletimeout)
    if (idle) out.idleTimeoutMs = idle
    const limits = spec.resources?.limits ?? {}
    const resources: Obj = {}
    if (limits.cpu !== undefined) {
      try { resources.cpu = parseCpuQuantity(String(limits.cpu)) } catch (e) { throw bad(d.where, `resources.limits.cpu: ${(e as Error).message}`) }
    }
    if (limits.memory !== undefined) resources.memory = String(limits.memory)
    if (Object.keys(resources).length) out.resources = resources
    const env_: Record<string, string> = {}
    const secretEnv: Obj[] = []
    for (const e of (spec.env ?? []) as Obj[]) {
      if (typeof e.value === 'string') env_[e.name] = e.value
      else if (e.valueFrom?.secretKeyRef) secretEnv.push({ secret: e.valueFrom.secretKeyRef.name, key: e.valueFrom.secretKeyRef.key, env: e.name })
      else throw bad(d.where, `Function ${name}: env ${e.name}: only literal values and secretKeyRef are applied`)
    }
    if (Object.keys(env_).length) out.env = env_
    if (secretEnv.length) out.secretEnv = secretEnv
    const secrets = ((spec.secrets ?? []) as Obj[]).map((s) => String(s.name))
    if (secrets.length) out.secrets = [...new Set(secrets)]
    const entrypoint = typeof spec.package?.functionName === 'string' && spec.package.functionName !== '' ? spec.package.functionName : undefined
    const code = codeOf(d.where, pkgDoc, entrypoint, env.builtin ? env.language : 'raw')
    items.push({
      kind: 'Function', name, namespace: nsOf(meta), where: d.where, code,
      body: { apiVersion: API_VERSION, kind: 'Function', metadata: { name }, spec: out } as Resource,
    })
  }

  for (const d of byKind('HTTPTrigger')) {
    const meta = d.doc.metadata as Obj
    const spec = (d.doc.spec ?? {}) as Obj
    const ref = spec.functionref ?? {}
    if (ref.type && ref.type !== 'name') throw bad(d.where, `HTTPTrigger ${meta.name}: functionref type ${ref.type} (weights) is not applied; point it at one function`)
    const url = typeof spec.prefix === 'string' && spec.prefix ? `${spec.prefix.replace(/\/$/, '')}/*` : String(spec.relativeurl ?? '')
    if (!url.startsWith('/')) throw bad(d.where, `HTTPTrigger ${meta.name}: relativeurl or prefix is required`)
    const methods: string[] = Array.isArray(spec.methods) && spec.methods.length ? spec.methods : [spec.method || 'GET']
    if (spec.createingress) notes.push(`${d.where}: HTTPTrigger ${meta.name}: createingress is not applied (expose Kiln's router instead)`)
    for (const m of methods) {
      const name = methods.length === 1 ? String(meta.name) : `${meta.name}-${String(m).toLowerCase()}`
      items.push({
        kind: 'HTTPTrigger', name, namespace: nsOf(meta), where: d.where,
        body: { apiVersion: API_VERSION, kind: 'HTTPTrigger', metadata: { name }, spec: { method: String(m).toUpperCase(), path: routePath(url), function: ref.name, ...(spec.host ? { host: spec.host } : {}) } },
      })
    }
  }

  for (const d of byKind('TimeTrigger')) {
    const meta = d.doc.metadata as Obj
    const spec = (d.doc.spec ?? {}) as Obj
    if (!kindEntry('CronTrigger')) throw bad(d.where, `TimeTrigger ${meta.name}: this Kiln has no cron triggers yet`)
    if ((spec.method && spec.method !== 'POST') || (spec.subpath && spec.subpath !== '/')) notes.push(`${d.where}: TimeTrigger ${meta.name}: Kiln's cron triggers POST to the function's root; method ${spec.method ?? 'POST'} and subpath ${spec.subpath ?? '/'} are not applied`)
    items.push({
      kind: 'CronTrigger', name: String(meta.name), namespace: nsOf(meta), where: d.where,
      body: { apiVersion: API_VERSION, kind: 'CronTrigger', metadata: { name: String(meta.name) }, spec: { function: spec.functionref?.name, schedule: String(spec.cron ?? '') } },
    })
  }

  for (const d of byKind('MessageQueueTrigger')) {
    const meta = d.doc.metadata as Obj
    const spec = (d.doc.spec ?? {}) as Obj
    if (!kindEntry('QueueTrigger')) throw bad(d.where, `MessageQueueTrigger ${meta.name}: this Kiln has no queue triggers yet`)
    const type = String(spec.messageQueueType ?? 'nats')
    const kind = /^nats/.test(type) ? 'nats' : /^redis/.test(type) ? 'redis-stream' : undefined
    if (!kind) throw bad(d.where, `MessageQueueTrigger ${meta.name}: message queue type ${type} is not one Kiln reads (nats, redis)`)
    const m = (spec.metadata ?? {}) as Obj
    const url = m.url ?? m.natsServerURL ?? m.address ?? m.natsServer
    if (typeof url !== 'string') throw bad(d.where, `MessageQueueTrigger ${meta.name}: Kiln needs the broker's URL: add spec.metadata.url (e.g. nats://nats:4222)`)
    items.push({
      kind: 'QueueTrigger', name: String(meta.name), namespace: nsOf(meta), where: d.where,
      body: {
        apiVersion: API_VERSION, kind: 'QueueTrigger', metadata: { name: String(meta.name) },
        spec: {
          kind, url, topic: spec.topic, function: spec.functionref?.name,
          ...(spec.respTopic ? { responseTopic: spec.respTopic } : {}), ...(spec.errorTopic ? { errorTopic: spec.errorTopic } : {}),
          ...(typeof spec.maxRetries === 'number' ? { maxRetries: spec.maxRetries } : {}), ...(spec.contentType ? { contentType: spec.contentType } : {}),
        },
      },
    })
  }
  return { items, setName, notes }
}
