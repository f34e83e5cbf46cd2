// `kiln apply -f`, `kiln diff -f` and `kiln delete -f`: read the documents, convert them, build the code
// of declared functions, compare each resource with the live one (kinds.ts says what is compared), and
// write only what differs, in dependency order; `--prune` deletes what carries this folder's apply-set
// label and the folder no longer declares. An unchanged resource is not written at all, so applying the
// same folder twice changes nothing and rolls no instance.
import { statSync } from 'node:fs'
import { basename, dirname, resolve } from 'node:path'
import { createTwoFilesPatch } from 'diff'
import { stringify as toYaml } from 'yaml'
import { CliError, EXIT, failure, send, withNamespace } from '../client.js'
import type { Connection } from '../contexts.js'
import type { Globals } from '../globals.js'
import { printData, structured } from '../output.js'
import { kubeName, refOf } from '../../core/refs.js'
import { API_VERSION, type Resource } from '../../core/types.js'
import { GROUP, specToStored, versionOf } from '../../core/store/crd-conversion.js'
import { buildCode, type Built } from './build.js'
import { key, type Desired } from './desired.js'
import { readDocs } from './documents.js'
import { convert } from './formats/index.js'
import { APPLY_SET_LABEL, canonical, KINDS, kindEntry, liveObject, type KindEntry } from './kinds.js'

export interface ApplyFlags { filename: string[]; recursive?: boolean; prune?: boolean; dryRun?: boolean; set?: string; kubeNamespace?: string }

type Action = 'created' | 'configured' | 'unchanged' | 'deleted' | 'pruned'
interface Step { item: Desired; entry: KindEntry; conn: Connection; live?: Resource; action: Action; built?: Built }
interface PruneStep { entry: KindEntry; conn: Connection; live: Resource }

/** A label value: letters, digits, `-`, `_`, `.`; at most 63; starting and ending alphanumeric. */
export function setLabel(s: string): string {
  const v = s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '').slice(0, 63).replace(/[^A-Za-z0-9]+$/, '')
  return v || 'default'
}

/** The set a folder's objects are labelled with: --set, a Fission DeploymentConfig's uid, else the folder's (or file's) name. */
function setNameOf(f: ApplyFlags, fromFormat: string | undefined): { name: string; why: string } {
  if (f.set) return { name: setLabel(f.set), why: '--set' }
  if (fromFormat) return { name: setLabel(fromFormat), why: 'the DeploymentConfig\'s uid' }
  // A folder is named by itself; a file by its folder and its name (two folders' function.yaml differ).
  const p = f.filename[0] === '-' ? 'stdin' : resolve(f.filename[0])
  const isDir = p !== 'stdin' && (() => { try { return statSync(p).isDirectory() } catch { return false } })()
  const first = p === 'stdin' ? p : isDir ? basename(p) : `${basename(dirname(p))}-${basename(p).replace(/\.(ya?ml|json)$/i, '')}`
  return { name: setLabel(first), why: 'from what -f names; --set NAME chooses another' }
}

function connFor(conn: Connection, entry: KindEntry, ns: string | undefined): Connection {
  if (!entry.namespaced) return { ...conn, namespace: undefined, all: false }
  return { ...conn, namespace: ns ?? conn.namespace, all: false }
}

const objName = (kind: string, name: string) => `${kind.toLowerCase()}/${name}`
const nsSuffix = (c: Connection, e: KindEntry) => (e.namespaced && c.namespace && c.namespace !== 'default' ? ` -n ${c.namespace}` : '')

/** Everything apply would do, without doing it: the items built and compared, and what prune would delete. */
async function plan(g: Globals, f: ApplyFlags, mode: 'apply' | 'diff' | 'delete') {
  const conn = g.server()
  const conv = convert(readDocs(f.filename, f.recursive ?? false))
  const set = setNameOf(f, conv.setName)
  if (!g.quiet) for (const n of conv.notes) process.stderr.write(`note: ${n}\n`)
  const steps: Step[] = []
  const cache = new Map<string, Resource[]>()
  const ordered = [...conv.items].sort((a, b) => kindEntry(a.kind)!.order - kindEntry(b.kind)!.order)
  for (const item of ordered) {
    const entry = kindEntry(item.kind)
    if (!entry) throw new CliError(`${item.where}: this Kiln has no ${item.kind} kind`, EXIT.USER, undefined, 'KILN_ERR_VALIDATION')
    const c = connFor(conn, entry, item.namespace)
    steps.push({ item, entry, conn: c, action: 'unchanged' })
  }
  if (mode === 'delete') {
    for (const s of steps) s.live = await liveObject(s.entry, s.conn, s.item.name, cache, s.item.body)
    return { conn, steps, prunes: [] as PruneStep[], set }
  }

  // Code first: a build error stops the apply before anything is written.
  for (const s of steps) {
    const body = s.item.body
    body.metadata = { ...body.metadata, labels: { ...(body.metadata.labels ?? {}), [APPLY_SET_LABEL]: set.name } }
    if (s.item.code) {
      const spec = body.spec as Record<string, unknown>
      const built = await buildCode(s.item.code, String(spec.runtime ?? 'node'), s.item.where)
      for (const w of built.warnings) if (!g.quiet) process.stderr.write(`note: ${s.item.where}: ${w}\n`)
      spec.package = { sha256: built.sha256 }
      spec.entrypoint = built.entrypoint
      if (s.item.detectShape && built.shape) {
        spec.shape = built.shape
        if (built.said && !g.quiet) process.stderr.write(`note: ${s.item.where}: ${built.said}\n`)
      }
      s.built = built
    }
    if (s.item.archive) (body.spec as Record<string, unknown>).archive = s.item.archive.toString('base64')
  }

  for (const s of steps) {
    s.live = await liveObject(s.entry, s.conn, s.item.name, cache, s.item.body)
    if (!s.live) s.action = 'created'
    else {
      const same = s.entry.satisfied ? s.entry.satisfied(s.item.body, s.live) : JSON.stringify(s.entry.comparable(s.item.body)) === JSON.stringify(s.entry.comparable(s.live))
      s.action = same ? 'unchanged' : 'configured'
    }
  }
  await checkRefs(steps, cache)

  const prunes: PruneStep[] = []
  if (f.prune) {
    const wanted = new Set(steps.map((s) => key({ kind: s.entry.kind, namespace: s.entry.namespaced ? s.conn.namespace : undefined, name: s.item.name })))
    const namespaces = new Set<string | undefined>([conn.namespace, ...steps.filter((s) => s.entry.namespaced).map((s) => s.conn.namespace)])
    for (const entry of KINDS.filter((k) => k.prunable)) {
      for (const ns of entry.namespaced ? namespaces : [undefined]) {
        const c = connFor(conn, entry, ns)
        let live: Resource[]
        try { live = await entry.list(c) } catch (e) { if (e instanceof CliError && e.code === 'KILN_ERR_FORBIDDEN') continue; throw e }
        for (const r of live) {
          if (r.metadata.labels?.[APPLY_SET_LABEL] !== set.name) continue
          if (wanted.has(key({ kind: entry.kind, namespace: entry.namespaced ? c.namespace : undefined, name: r.metadata.name }))) continue
          prunes.push({ entry, conn: { ...c, namespace: entry.namespaced ? r.metadata.namespace ?? c.namespace : undefined }, live: r })
        }
      }
    }
    prunes.sort((a, b) => b.entry.order - a.entry.order)
  }
  return { conn, steps, prunes, set }
}

/** Every reference resolves to something live or declared, before anything is written. */
async function checkRefs(steps: Step[], cache: Map<string, Resource[]>): Promise<void> {
  const declared = new Set(steps.map((s) => `${s.entry.kind}/${s.entry.namespaced ? s.conn.namespace ?? '' : ''}/${s.item.name}`))
  const missing: string[] = []
  for (const s of steps) {
    for (const ref of s.entry.refs(s.item.body)) {
      const target = kindEntry(ref.kind)
      if (!target) continue
      const c = connFor(s.conn, target, s.conn.namespace)
      if (declared.has(`${target.kind}/${target.namespaced ? c.namespace ?? '' : ''}/${ref.name}`)) continue
      let live: Resource | undefined
      try { live = await liveObject(target, c, ref.name, cache) } catch (e) { if (e instanceof CliError && e.code === 'KILN_ERR_FORBIDDEN') continue; throw e }
      if (!live) missing.push(`${s.item.where}: ${s.entry.kind} ${s.item.name} refers to ${target.kind} ${ref.name}, which neither exists nor is declared`)
    }
  }
  if (missing.length) throw new CliError(missing.join('\n'), EXIT.USER, 'declare it in the folder or create it first; nothing was written', 'KILN_ERR_VALIDATION')
}

/** Uploads a built package unless the live function already runs it. */
async function upload(s: Step): Promise<void> {
  if (!s.built) return
  const liveSha = (s.live?.spec as { package?: { sha256?: string } } | undefined)?.package?.sha256
  if (liveSha === s.built.sha256) return
  const res = await send(s.conn, 'POST', withNamespace(s.conn, `/v1/packages?sha256=${s.built.sha256}`, 'POST'), s.built.archive, { 'content-type': 'application/gzip' })
  if (res.status >= 400) throw failure(res)
}

/** The objects as `kubectl apply -f -` takes them in Kiln's Kubernetes namespace (core/store/crd-store.ts naming). */
function asKubernetes(steps: Step[], kubeNs: string): Resource[] {
  const out: Resource[] = []
  const packages = new Set<string>()
  for (const s of steps) {
    if (s.built && !packages.has(s.built.sha256)) {
      packages.add(s.built.sha256)
      out.push({ apiVersion: API_VERSION, kind: 'Package', metadata: { name: `sha256-${s.built.sha256.slice(0, 16)}`, namespace: kubeNs } as Resource['metadata'], spec: { sha256: s.built.sha256, archive: s.built.archive.toString('base64') } })
    }
    if (s.entry.kind === 'Secret') continue
    const ns = s.entry.namespaced ? s.conn.namespace ?? 'default' : 'default'
    const ref = refOf(ns, s.item.name)
    const labels = { ...(s.item.body.metadata.labels ?? {}), ...(ns !== 'default' ? { 'kiln.dev/namespace': ns } : {}) }
    // In the version the cluster stores (a Function as kiln.dev/v2), so kubectl applies it without the conversion webhook.
    out.push({ ...s.item.body, apiVersion: `${GROUP}/${versionOf(s.entry.kind)}`, metadata: { name: kubeName(ref), namespace: kubeNs, labels } as Resource['metadata'], spec: specToStored(s.entry.kind, s.item.body.spec) })
  }
  return out
}

function printDiff(s: Step): void {
  const show = (r: Resource | undefined) => (r ? toYaml(canonical({ metadata: { name: r.metadata.name, labels: r.metadata.labels }, ...(s.entry.comparable(r) as object) })) : '')
  const name = objName(s.entry.kind, s.item.name)
  process.stdout.write(createTwoFilesPatch(`live/${name}`, `${s.item.where}`, show(s.live), show(s.item.body), undefined, undefined, { context: 3 }))
}

export async function runApply(g: Globals, f: ApplyFlags): Promise<void> {
  const { steps, prunes, set } = await plan(g, f, 'apply')
  if (f.dryRun && structured(g.output)) {
    const objs = f.kubeNamespace ? asKubernetes(steps, f.kubeNamespace) : steps.map((s) => s.item.body)
    return printData(g.output, g.output === 'name' ? objs : { apiVersion: 'v1', kind: 'List', items: objs })
  }
  const dry = f.dryRun ? ' (dry run)' : ''
  const counts: Record<string, number> = {}
  const results: { kind: string; name: string; namespace?: string; action: Action }[] = []
  const report = (kind: string, name: string, conn: Connection, entry: KindEntry, action: Action) => {
    counts[action] = (counts[action] ?? 0) + 1
    results.push({ kind, name, ...(entry.namespaced && conn.namespace ? { namespace: conn.namespace } : {}), action })
    if (!structured(g.output)) process.stdout.write(`${objName(kind, name)} ${action}${dry}${nsSuffix(conn, entry)}\n`)
  }
  // Secrets are only checked (never written): one missing stops the apply before anything is written.
  if (!f.dryRun) for (const s of steps) if (s.entry.kind === 'Secret' && s.action !== 'unchanged') await s.entry.write(s.conn, s.item.body, s.live)
  for (const s of steps) {
    if (s.action !== 'unchanged' && !f.dryRun) {
      try {
        await upload(s)
        await s.entry.write(s.conn, s.item.body, s.live)
      } catch (e) {
        // The server's answer, with the document it is about; what was written before it stays written.
        if (!(e instanceof CliError)) throw e
        const done = results.filter((r) => r.action !== 'unchanged').length
        throw new CliError(`${s.item.where}: ${objName(s.entry.kind, s.item.name)}: ${e.message}`, e.exitCode,
          `${e.hint ? `${e.hint}; ` : ''}${done ? `${done} object(s) before it were written; ` : ''}fix it and apply again (what is done is left as it is)`, e.code)
      }
    }
    report(s.entry.kind, s.item.name, s.conn, s.entry, s.action)
  }
  for (const p of prunes) {
    if (!f.dryRun) await p.entry.remove(p.conn, p.live.metadata.name)
    report(p.entry.kind, p.live.metadata.name, p.conn, p.entry, 'pruned')
  }
  if (structured(g.output)) printData(g.output, results)
  if (!g.quiet) process.stderr.write(`apply set "${set.name}" (${set.why}): ${Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(', ') || 'nothing declared'}${dry}\n`)
}

/** Prints what apply would change; exits 1 when anything differs (as diff(1) and kubectl diff do). */
export async function runDiff(g: Globals, f: ApplyFlags): Promise<void> {
  const { steps, prunes } = await plan(g, f, 'diff')
  let differs = false
  for (const s of steps) {
    if (s.action === 'unchanged') continue
    differs = true
    printDiff(s)
  }
  for (const p of prunes) {
    differs = true
    process.stdout.write(`--- live/${objName(p.entry.kind, p.live.metadata.name)}\n+++ (pruned: no longer declared)\n`)
  }
  if (differs) process.exitCode = EXIT.USER
}

/** Deletes what the documents declare, dependents first; what is already gone is said, not an error. */
export async function runDelete(g: Globals, f: ApplyFlags & { cascade?: boolean }): Promise<void> {
  const { steps } = await plan(g, f, 'delete')
  for (const s of [...steps].reverse()) {
    const name = objName(s.entry.kind, s.item.name)
    if (!s.entry.deletable) { if (!g.quiet) process.stderr.write(`${name} kept (${s.entry.kind === 'Secret' ? 'secrets are deleted with `kiln secret delete`' : 'not deleted by kiln delete -f'})\n`); continue }
    if (!s.live) { process.stdout.write(`${name} not found${nsSuffix(s.conn, s.entry)}\n`); continue }
    if (f.dryRun) { process.stdout.write(`${name} deleted (dry run)${nsSuffix(s.conn, s.entry)}\n`); continue }
    await s.entry.remove(s.conn, s.item.name, { cascade: f.cascade })
    process.stdout.write(`${name} deleted${nsSuffix(s.conn, s.entry)}\n`)
  }
}
