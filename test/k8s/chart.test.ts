// The Helm chart (deploy/helm/kiln) against a real kube-apiserver: `helm lint`, `helm template |
// kubectl apply --dry-run=server` with the defaults and with every option on, the minimum Kubernetes
// version refused by helm and by the components, the admin token Secret in the form Kiln reads, and
// the kustomize base in deploy/ being what the chart renders. test/k8s/chart-install.test.ts installs it.
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { KubeConfig } from '@kubernetes/client-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { checkKubeVersion } from '../../cluster/kubernetes/version.js'
import { KilnError } from '../../core/errors.js'
import { startControlPlane, type ControlPlane } from './controlplane/controlplane.js'
import { gatewayApiCrds, helm, helmPlan } from './controlplane/helm.js'
import { kubectl, kubectlOk } from './controlplane/kubectl.js'
import { tier } from '../helpers/tier.js'
import { BUILD_TIMEOUT_MS, DEPLOY, REPO, ensureBinaries, plan } from './setup.js'
import { waitUntil } from './wait.js'

const CHART = join(DEPLOY, 'helm', 'kiln')
const hp = helmPlan()
/** Needs the control plane and helm (build-helm.sh); a required k8s tier fails without them (test/helpers/tier.ts). */
const CHART_TIER = tier('k8s', !plan.run ? plan.reason : !hp.run ? hp.reason : undefined)
const TOKEN = `kiln_${'a1b2c3d4e5'}_${'x'.repeat(40)}Y-_`

const docs = (yaml: string) => parseAllDocuments(yaml).map((d) => d.toJS()).filter(Boolean)

/** Every file under `dir`, by path relative to it. */
function files(dir: string, under = dir): Map<string, string> {
  const out = new Map<string, string>()
  for (const e of readdirSync(dir)) {
    const p = join(dir, e)
    if (statSync(p).isDirectory()) for (const [k, v] of files(p, under)) out.set(k, v)
    else out.set(relative(under, p), readFileSync(p, 'utf8'))
  }
  return out
}

describe('the Helm chart', CHART_TIER, () => {
  let cp: ControlPlane
  const k = (args: string[], input?: string) => kubectl(cp.kubeconfigPath, args, { input, kubectlPath: cp.binaries.kubectl })

  beforeAll(async () => {
    await ensureBinaries()
    cp = await startControlPlane({ controllerManager: false, scheduler: false })
    // Server-side dry run admits objects into namespaces that exist, and the HTTPRoute kind must be known.
    await kubectlOk(cp.kubeconfigPath, ['create', 'namespace', 'kiln', '--save-config'])
    await kubectlOk(cp.kubeconfigPath, ['create', 'namespace', 'kiln-node-agent', '--save-config'])
    await kubectlOk(cp.kubeconfigPath, ['apply', '-f', gatewayApiCrds()!])
    await waitUntil('the HTTPRoute CRD Established', async () => (await kubectl(cp.kubeconfigPath, ['get', 'crd', 'httproutes.gateway.networking.k8s.io', '-o', 'jsonpath={.status.conditions[?(@.type=="Established")].status}'])).stdout === 'True', 60_000)
  }, BUILD_TIMEOUT_MS)
  afterAll(async () => { await cp?.stop() })

  it('helm lint passes', async () => {
    const r = await helm(['lint', CHART])
    expect(r.stdout + r.stderr).not.toContain('[ERROR]')
    expect(r.code).toBe(0)
  })

  it('deploy/ (the kustomize base) is what the chart renders', () => {
    const out = mkdtempSync(join(tmpdir(), 'kiln-kustomize-'))
    try {
      execFileSync(process.execPath, [join(DEPLOY, 'render-kustomize.mjs'), out], { cwd: REPO })
      const want = files(out)
      // What the script writes: its folders and top-level files (deploy/ also holds the chart, the
      // Dockerfiles, the Grafana dashboard and the script itself).
      const generated = new Set([...want.keys()].map((f) => f.split('/')[0]))
      const have = new Map([...files(DEPLOY)].filter(([f]) => generated.has(f.split('/')[0]!)))
      expect([...have.keys()].sort()).toEqual([...want.keys()].sort())
      for (const [f, text] of want) expect(have.get(f), `${f}: run node deploy/render-kustomize.mjs`).toBe(text)
    } finally {
      rmSync(out, { recursive: true, force: true })
    }
  })

  it('helm template | kubectl apply --dry-run=server accepts the defaults', async () => {
    const r = await helm(['template', 'kiln', CHART, '--namespace', 'kiln'])
    expect(r.code, r.stderr).toBe(0)
    const applied = await k(['apply', '--dry-run=server', '-f', '-'], r.stdout)
    expect(applied.stderr).toBe('')
    expect(applied.code).toBe(0)
    for (const o of ['deployment.apps/kiln-controller', 'deployment.apps/kiln-executor', 'deployment.apps/kiln-router', 'daemonset.apps/kiln-node-agent', 'customresourcedefinition.apiextensions.k8s.io/functions.kiln.dev']) {
      expect(applied.stdout).toMatch(new RegExp(`${o.replaceAll('.', '\\.')} (created|configured|unchanged) \\(server dry run\\)`))
    }
  })

  it('and every option: Ingress, HTTPRoute, external Redis from a Secret, the admin token, no node layout', async () => {
    const r = await helm(['template', 'kiln', CHART, '--namespace', 'kiln',
      '--set', 'ingress.enabled=true', '--set', 'ingress.className=nginx', '--set', 'ingress.tls[0].secretName=kiln-tls', '--set', 'ingress.tls[0].hosts[0]=kiln.example.com',
      '--set', 'gateway.enabled=true', '--set', 'gateway.parentRefs[0].name=public', '--set', 'gateway.parentRefs[0].namespace=gateways', '--set', 'gateway.hostnames[0]=kiln.example.com',
      '--set', 'redis.enabled=false', '--set', 'redis.existingSecret=kiln-redis-url',
      '--set', `adminToken.value=${TOKEN}`,
      '--set-json', 'nodes.management.nodeSelector=null', '--set-json', 'nodes.runtime.nodeSelector=null', '--set-json', 'nodes.runtime.taint=null',
      '--set', 'router.autoscaling.enabled=false', '--set', 'router.replicas=3', '--set', 'executor.replicas=3', '--set', 'runtimes.python.enabled=false',
      '--set', 'controller.webhook.manageCertificate=false', '--set', 'namespace.create=true'])
    expect(r.code, r.stderr).toBe(0)
    const objs = docs(r.stdout)
    const kinds = objs.map((o) => `${o.kind}/${o.metadata.name}`)
    expect(kinds).toEqual(expect.arrayContaining(['Ingress/kiln', 'HTTPRoute/kiln', 'Secret/kiln-admin-token', 'Namespace/kiln']))
    expect(kinds).not.toContain('Deployment/kiln-redis')
    expect(kinds).not.toContain('HorizontalPodAutoscaler/kiln-router')
    expect(kinds.filter((x) => x.startsWith('ClusterRole/'))).not.toContain('ClusterRole/kiln-controller-crds')
    const controller = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'kiln-controller')
    const env = Object.fromEntries(controller.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom]))
    expect(env.KILN_REDIS_URL).toEqual({ secretKeyRef: { name: 'kiln-redis-url', key: 'url' } })
    expect(JSON.parse(env.KILN_RUNTIMES)).toEqual({ node: { image: 'kiln/runtime-node:0.1.0', language: 'node', poolSize: 3, port: 8888 } })
    expect(controller.spec.template.spec.nodeSelector).toBeUndefined()
    // The controller makes no pods but reads what they carry (their protections, the /tmp a deploy warns of): the executor's template.
    const executor = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'kiln-executor')
    const executorEnv = Object.fromEntries(executor.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom]))
    expect(env.KILN_RUNTIME_POD_TEMPLATE).toBe(executorEnv.KILN_RUNTIME_POD_TEMPLATE)
    expect(JSON.parse(env.KILN_RUNTIME_POD_TEMPLATE)).toMatchObject({ tmpSize: '64Mi', networkPolicy: true })
    const applied = await k(['apply', '--dry-run=server', '-f', '-'], r.stdout)
    expect(applied.stderr).toBe('')
    expect(applied.code).toBe(0)
    expect(applied.stdout).toMatch(/httproute\.gateway\.networking\.k8s\.io\/kiln created \(server dry run\)/)
    expect(applied.stdout).toMatch(/ingress\.networking\.k8s\.io\/kiln created \(server dry run\)/)
  })

  it('the admin token Secret holds what Kiln checks callers against: the sha256 of its secret, role admin, every namespace', async () => {
    const r = await helm(['template', 'kiln', CHART, '--namespace', 'kiln', '--set', `adminToken.value=${TOKEN}`, '--show-only', 'templates/admin-token.yaml'])
    expect(r.code, r.stderr).toBe(0)
    const [secret] = docs(r.stdout)
    expect(secret.metadata.labels['kiln.dev/token']).toBe('true')
    expect(Buffer.from(secret.data.token, 'base64').toString()).toBe(TOKEN)
    const record = JSON.parse(Buffer.from(secret.data.record, 'base64').toString())
    expect(record).toMatchObject({ id: 'a1b2c3d4e5', role: 'admin', namespaces: ['*'] })
    expect(record.hash).toBe(createHash('sha256').update(TOKEN.split('_').slice(2).join('_')).digest('hex'))
  })

  it('a value that is not a Kiln token fails the render', async () => {
    const r = await helm(['template', 'kiln', CHART, '--namespace', 'kiln', '--set', 'adminToken.value=hunter2'])
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain('adminToken.value')
  })

  it.each([
    ['executor.leaseDuration=soon', '/executor/leaseDuration'],
    ['router.service.type=Public', '/router/service/type'],
    ['runtimes.node.poolSize=-1', '/runtimes/node/poolSize'],
  ])('a bad value (%s) fails the render naming it (values.schema.json)', async (set, where) => {
    const r = await helm(['template', 'kiln', CHART, '--namespace', 'kiln', '--set', set])
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain(where)
  })

  it('helm refuses a cluster older than 1.33', async () => {
    const old = await helm(['template', 'kiln', CHART, '--namespace', 'kiln', '--kube-version', '1.32.0'])
    expect(old.code).not.toBe(0)
    expect(old.stderr).toMatch(/kubeVersion|is incompatible with Kubernetes/)
    expect((await helm(['template', 'kiln', CHART, '--namespace', 'kiln', '--kube-version', '1.33.0'])).code).toBe(0)
  })

  it('the components check the cluster\'s version: this one passes, a minimum above it is KILN_ERR_KUBE_VERSION', async () => {
    const kc = new KubeConfig()
    kc.loadFromFile(cp.kubeconfigPath)
    expect(await checkKubeVersion(kc)).toBe('v1.36.3')
    const err = await checkKubeVersion(kc, { major: 1, minor: 99 }).catch((e) => e)
    expect(err).toBeInstanceOf(KilnError)
    expect((err as KilnError).code).toBe('KILN_ERR_KUBE_VERSION')
  })
})
