// Kiln's own documents: `apiVersion: kiln.dev/v1` resources of the kinds in ../kinds.ts, where a
// Function may give its code as a path relative to the file (`spec.code`, built at apply) instead of a
// package sha; and plain workflow files (`name` and `tasks`, Kiln's or Fission Workflows' format), as
// `kiln wf deploy` reads them.
import { basename, resolve } from 'node:path'
import { CliError, EXIT } from '../../client.js'
import { API_VERSION, type Resource } from '../../../core/types.js'
import type { Doc } from '../documents.js'
import type { Desired } from '../desired.js'
import { kindEntry } from '../kinds.js'

const bad = (d: Doc, why: string) => new CliError(`${d.where}: ${why}`, EXIT.USER, undefined, 'KILN_ERR_VALIDATION')

export function isKilnDoc(d: Doc): boolean {
  return d.doc.apiVersion === API_VERSION || isWorkflowDoc(d)
}

function isWorkflowDoc(d: Doc): boolean {
  return d.doc.kind === undefined && typeof d.doc.tasks === 'object' && d.doc.tasks !== null
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

export function fromKiln(d: Doc): Desired {
  if (isWorkflowDoc(d)) {
    const name = typeof d.doc.name === 'string' ? d.doc.name : basename(d.file).replace(/(\.wf)?\.(ya?ml|json)$/i, '')
    return { kind: 'Workflow', name, where: d.where, body: { apiVersion: API_VERSION, kind: 'Workflow', metadata: { name }, spec: { ...d.doc, name } } }
  }
  const kind = String(d.doc.kind ?? '')
  const entry = kindEntry(kind)
  if (!entry) throw bad(d, `kind "${kind}" is not one Kiln applies (Namespace, Runtime, Secret, Package, Function, Workflow, HTTPTrigger or Route)`)
  const meta = d.doc.metadata
  if (!isMap(meta) || typeof meta.name !== 'string') throw bad(d, 'metadata.name: is required')
  const namespace = typeof meta.namespace === 'string' ? meta.namespace : undefined
  if (namespace !== undefined && !entry.namespaced) throw bad(d, `metadata.namespace: a ${entry.kind} is cluster-wide; remove the namespace`)
  const { status: _s, ...rest } = d.doc
  const body = { ...rest, apiVersion: API_VERSION, kind: entry.kind, metadata: { name: meta.name, ...(namespace ? { namespace } : {}), ...(isMap(meta.labels) ? { labels: meta.labels as Record<string, string> } : {}) } } as Resource
  const item: Desired = { kind: entry.kind, name: meta.name, namespace, body, where: d.where }

  if (entry.kind === 'Secret') {
    if (d.doc.data !== undefined || d.doc.stringData !== undefined || (isMap(d.doc.spec) && (d.doc.spec.data !== undefined || d.doc.spec.stringData !== undefined))) {
      throw bad(d, 'a Secret in a spec folder names its keys (spec.keys) and never holds values; create it with `kiln secret create` and keep the values out of git')
    }
    const keys = isMap(d.doc.spec) ? d.doc.spec.keys : undefined
    if (keys !== undefined && (!Array.isArray(keys) || keys.some((k) => typeof k !== 'string'))) throw bad(d, 'spec.keys: a list of key names')
    item.body = { ...body, spec: { keys: (keys as string[] | undefined) ?? [] } }
  }

  if (entry.kind === 'Package') {
    const spec = isMap(d.doc.spec) ? d.doc.spec : {}
    if (typeof spec.sha256 !== 'string' || !/^[a-f0-9]{64}$/.test(spec.sha256)) throw bad(d, 'spec.sha256: the archive\'s sha256 (64 hex digits) is required')
    if (typeof spec.archive === 'string') item.archive = Buffer.from(spec.archive, 'base64')
    else if (typeof spec.url === 'string') throw bad(d, 'spec.url: a Package by URL is loaded by the platform on Kubernetes; `kiln apply` uploads inline archives (spec.archive) only')
    else throw bad(d, 'spec.archive: the package as base64 (a gzipped tar), or spec.url on Kubernetes')
  }

  if (entry.kind === 'Function') {
    const spec = isMap(d.doc.spec) ? { ...d.doc.spec } : {}
    if (spec.code !== undefined) {
      if (typeof spec.code !== 'string') throw bad(d, 'spec.code: a path to a file or folder, relative to this file')
      if (spec.package !== undefined) throw bad(d, 'spec: give spec.code (built at apply) or spec.package (an uploaded package), not both')
      const path = resolve(d.dir, spec.code)
      const entrypoint = typeof spec.entrypoint === 'string' ? spec.entrypoint : undefined
      item.code = { label: spec.code, entrypoint, prepare: async () => ({ source: path, cleanup: async () => undefined }) }
      item.detectShape = spec.shape === undefined
      delete spec.code
      delete spec.entrypoint
    } else if (!isMap(spec.package)) throw bad(d, 'spec.code: give the code (a path relative to this file) or spec.package.sha256 with spec.entrypoint')
    item.body = { ...body, spec }
  }
  return item
}
