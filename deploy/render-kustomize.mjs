#!/usr/bin/env node
// The kustomize base in deploy/ is generated from the Helm chart (deploy/helm/kiln), so both install the
// same objects: `helm template` with the values in deploy/kustomize-values.yaml, one file per component
// and kind, and a kustomization.yaml listing them. test/k8s/chart.test.ts checks that deploy/ is what
// this renders. Run it after changing the chart:
//
//   node deploy/render-kustomize.mjs            # writes deploy/
//   node deploy/render-kustomize.mjs OUT_DIR    # writes elsewhere (the test)
//
// helm: $KILN_HELM, else ~/.cache/kiln-k8s/helm-<version>/bin/helm (test/k8s/controlplane/build-helm.sh
// builds it), else helm on PATH.
import { execFileSync } from 'node:child_process'
import { accessSync, constants, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseAllDocuments, stringify } from 'yaml'

const DEPLOY = dirname(fileURLToPath(import.meta.url))
const CHART = join(DEPLOY, 'helm', 'kiln')
const HELM_VERSION = process.env.KILN_HELM_VERSION ?? 'v4.3.2'
/** The folders this script owns in the output (everything else in deploy/ is left alone). */
export const GENERATED = ['namespace.yaml', 'kustomization.yaml', 'crds', 'rbac', 'controller', 'executor', 'router', 'node-agent', 'redis', 'runtime']

const executable = (p) => { try { accessSync(p, constants.X_OK); return true } catch { return false } }

export function helmBinary() {
  if (process.env.KILN_HELM) return process.env.KILN_HELM
  const cached = process.env.KILN_HELM_CACHE ? join(process.env.KILN_HELM_CACHE, 'helm') : join(homedir(), '.cache', 'kiln-k8s', `helm-${HELM_VERSION}`, 'bin', 'helm')
  if (executable(cached)) return cached
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir && executable(join(dir, 'helm'))) return join(dir, 'helm')
  return undefined
}

const KIND_FILE = {
  Deployment: 'deployment', Service: 'service', PodDisruptionBudget: 'pdb', HorizontalPodAutoscaler: 'hpa',
  DaemonSet: 'daemonset', PersistentVolumeClaim: 'pvc', NetworkPolicy: 'networkpolicy', Secret: 'secret',
}
const RBAC = new Set(['ServiceAccount', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding'])

/** Where an object goes: its path relative to the output folder. */
function fileOf(o) {
  const component = o.metadata?.labels?.['app.kubernetes.io/component']
  if (o.kind === 'Namespace') return 'namespace.yaml'
  if (o.kind === 'CustomResourceDefinition') return `crds/${o.spec.names.plural}.yaml`
  if (!component) throw new Error(`${o.kind} ${o.metadata?.name}: no app.kubernetes.io/component label`)
  if (RBAC.has(o.kind)) return `rbac/${component}.yaml`
  const kind = KIND_FILE[o.kind]
  if (!kind) throw new Error(`${o.kind} ${o.metadata?.name}: no file for this kind`)
  return `${component}/${kind}.yaml`
}

/** The rendered objects, grouped into files: Map<relative path, objects[]>. */
export function render(helm = helmBinary()) {
  if (!helm) throw new Error(`no helm: run test/k8s/controlplane/build-helm.sh (or set KILN_HELM)`)
  const out = execFileSync(helm, ['template', 'kiln', CHART, '--namespace', 'kiln', '-f', join(DEPLOY, 'kustomize-values.yaml')], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
  const files = new Map()
  for (const d of parseAllDocuments(out)) {
    const o = d.toJS()
    if (!o) continue
    const f = fileOf(o)
    files.set(f, [...(files.get(f) ?? []), o])
  }
  return files
}

const HEADER = '# Generated from deploy/helm/kiln by deploy/render-kustomize.mjs: change the chart, then run it.\n'

/** The text of every generated file, by relative path (kustomization.yaml included). */
export function renderFiles(helm) {
  const files = render(helm)
  const text = new Map()
  for (const [f, objs] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    // YAML 1.1 quoting: `kubectl apply -f` reads YAML 1.1, where a bare yes/no/on/off is a boolean
    // (Redis's `--appendonly yes` would not be a string).
    text.set(f, HEADER + objs.map((o) => stringify(o, { lineWidth: 0, version: '1.1' })).join('---\n'))
  }
  const kustomization = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    // Every object names its namespace: kiln, or kiln-node-agent for the node agent.
    resources: [...text.keys()],
  }
  // Overlays set the platform image (`images:`); the runtime images are in the controller's KILN_RUNTIMES.
  text.set('kustomization.yaml', HEADER + '# `kubectl apply -k deploy/`; overlays: docs/kubernetes.md.\n' + stringify(kustomization))
  return text
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const outDir = process.argv[2] ?? DEPLOY
  const text = renderFiles()
  for (const g of GENERATED) rmSync(join(outDir, g), { recursive: true, force: true })
  for (const [f, t] of text) {
    mkdirSync(dirname(join(outDir, f)), { recursive: true })
    writeFileSync(join(outDir, f), t)
  }
  process.stdout.write(`wrote ${text.size} files to ${outDir}: ${[...text.keys()].join(', ')}\n`)
}
