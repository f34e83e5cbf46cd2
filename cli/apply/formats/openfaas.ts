// An OpenFaaS stack file (`faas-cli deploy -f stack.yml`), read unchanged: each function's `handler`
// folder (relative to the file) is built for its `lang` (node* templates: Kiln's node runtime; python3-http
// and python3-flask templates: Kiln's python runtime; both in the openfaas shape), with `environment`
// (and `environment_file`), `secrets` (by name), `labels` and `annotations` as labels, `limits`, and
// the scaling labels: an OpenFaaS function is a scaled set, so `dedicated` with
// `com.openfaas.scale.min` (default 1) and `.max` (default 20), down to zero after
// `com.openfaas.scale.zero-duration` when `com.openfaas.scale.zero` is true. `${VAR}` and
// `${VAR:-default}` are read from the environment, as faas-cli does.
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { CliError, EXIT } from '../../client.js'
import { parseCpuQuantity, parseUserDuration } from '../../../core/quantity.js'
import { API_VERSION } from '../../../core/types.js'
import type { Doc } from '../documents.js'
import type { Conversion, Desired } from '../desired.js'

type Obj = Record<string, any>
const bad = (where: string, why: string) => new CliError(`${where}: ${why}`, EXIT.USER, undefined, 'KILN_ERR_VALIDATION')

export function isStackDoc(d: Doc): boolean {
  return d.doc.kind === undefined && d.doc.apiVersion === undefined && typeof d.doc.functions === 'object' && d.doc.functions !== null && !Array.isArray(d.doc.functions)
}

/** The Kiln runtime of an OpenFaaS template, or undefined when Kiln has none for it. */
export function runtimeForLang(lang: string): string | undefined {
  if (/^node(\d+)?(-.*)?$/.test(lang)) return 'node'
  if (/^python3(-http|-flask)?(-debian)?$/.test(lang) || /^python3-http/.test(lang)) return 'python'
  return undefined
}

/** faas-cli's substitution: `${VAR}` and `${VAR:-default}` from the environment. */
function substitute(v: unknown, env: NodeJS.ProcessEnv): unknown {
  if (typeof v === 'string') return v.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_m, n: string, def?: string) => env[n] ?? def ?? '')
  if (Array.isArray(v)) return v.map((x) => substitute(x, env))
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substitute(x, env)]))
  return v
}

const strings = (o: unknown): Record<string, string> => Object.fromEntries(Object.entries((o ?? {}) as Obj).map(([k, v]) => [k, String(v)]))

/** Label values as Kubernetes allows them (no spaces, at most 63 characters). */
const labelSafe = (o: Record<string, string>) => Object.fromEntries(Object.entries(o).filter(([, v]) => /^[A-Za-z0-9._-]{0,63}$/.test(v)))

export function fromStack(d: Doc, env: NodeJS.ProcessEnv = process.env): Conversion {
  const notes: string[] = []
  const items: Desired[] = []
  const stack = substitute(d.doc, env) as Obj
  if (Array.isArray(stack.configuration?.copy) && stack.configuration.copy.length) throw bad(d.where, 'configuration.copy: extra build paths are not applied; put the shared files in the handler folder')
  for (const [name, raw] of Object.entries(stack.functions as Obj)) {
    const f = (raw ?? {}) as Obj
    const where = `${d.where} functions.${name}`
    const lang = String(f.lang ?? '')
    const runtime = runtimeForLang(lang)
    if (!runtime) throw bad(where, `lang "${lang}": Kiln builds node* and python3 / python3-http / python3-flask templates (a Dockerfile function has no Kiln equivalent)`)
    if (typeof f.handler !== 'string') throw bad(where, 'handler: the function\'s folder is required')
    const spec: Obj = { runtime, shape: 'openfaas' }
    const environment: Record<string, string> = {}
    for (const file of (f.environment_file ?? []) as string[]) {
      const doc = parseYaml(readFileSync(resolve(d.dir, file), 'utf8')) as Obj
      Object.assign(environment, strings(doc?.environment))
    }
    Object.assign(environment, strings(f.environment))
    if (Object.keys(environment).length) spec.env = environment
    // of-watchdog's own settings mean the same in Kiln: the timeout and the requests in flight.
    const timeout = environment.exec_timeout ?? environment.write_timeout
    if (timeout) spec.timeoutMs = parseUserDuration(timeout)
    if (environment.max_inflight && Number(environment.max_inflight) > 0) spec.concurrency = Number(environment.max_inflight)
    if (Array.isArray(f.secrets) && f.secrets.length) spec.secrets = [...new Set(f.secrets.map(String))]
    const limits = (f.limits ?? {}) as Obj
    const resources: Obj = {}
    if (limits.cpu !== undefined) resources.cpu = parseCpuQuantity(String(limits.cpu))
    if (limits.memory !== undefined) resources.memory = String(limits.memory)
    if (Object.keys(resources).length) spec.resources = resources
    if (f.requests) notes.push(`${where}: requests are not applied (Kiln sets limits only)`)
    const labels = strings(f.labels)
    const annotations = strings(f.annotations)
    // An OpenFaaS function is a Deployment: at least scale.min replicas, up to scale.max.
    spec.strategy = 'dedicated'
    const zero = labels['com.openfaas.scale.zero'] === 'true'
    const min = zero ? 0 : Number(labels['com.openfaas.scale.min'] ?? 1)
    if (min > 0) spec.minScale = min
    spec.maxScale = Number(labels['com.openfaas.scale.max'] ?? 20)
    if (zero && labels['com.openfaas.scale.zero-duration']) spec.idleTimeoutMs = parseUserDuration(labels['com.openfaas.scale.zero-duration'])
    const allLabels = labelSafe({ ...annotations, ...labels })
    const item: Desired = {
      kind: 'Function', name, namespace: typeof f.namespace === 'string' && f.namespace ? f.namespace : undefined, where,
      body: { apiVersion: API_VERSION, kind: 'Function', metadata: { name, ...(Object.keys(allLabels).length ? { labels: allLabels } : {}) }, spec },
      code: { label: f.handler, language: runtime, prepare: async () => ({ source: resolve(d.dir, f.handler), cleanup: async () => undefined }) },
    }
    items.push(item)
  }
  return { items, notes }
}
