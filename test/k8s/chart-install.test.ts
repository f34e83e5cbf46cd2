// `helm install` of deploy/helm/kiln onto a real control plane, every component running as a pod: the
// node simulator runs each pod's image as a local process (the platform image is dist/kiln.js, the
// runtime image dist/runtimes/node.js, Redis redis-server), gives pods their ServiceAccount tokens and
// /etc/hosts, serves Services on their ClusterIPs (the control plane's service range is a loopback one)
// and the containers' logs to the API server. Then issue 19's checks: components only on management
// nodes, runtime pods only on runtime nodes, a noisy function's pods only on isolated nodes; deploy,
// invoke and follow logs through one CLI endpoint (the router); two executor replicas keep exactly
// minWarm warm pods between them, and killing the owner reclaims its pods within the lease time; a
// Function stored under v1 before the install reads back through v2 (the controller's conversion webhook).
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse as parseYaml, stringify } from 'yaml'
import { existsSync, readFileSync } from 'node:fs'
import { startControlPlane, type ControlPlane } from './controlplane/controlplane.js'
import { helm, helmPlan } from './controlplane/helm.js'
import { kubectlOk } from './controlplane/kubectl.js'
import { KubeClient } from './node-sim/kube-client.js'
import { isolatedNode, type SimNode } from './node-sim/nodes.js'
import { startNodeSimulator, type NodeSimulator } from './node-sim/simulator.js'
import { reserveLoopbackOctet } from './node-sim/addresses.js'
import { tier } from '../helpers/tier.js'
import { BUILD_TIMEOUT_MS, DEPLOY, NODE_RUNTIME, REPO, ensureBinaries, plan } from './setup.js'
import { waitUntil } from './wait.js'

const NS = 'kiln'
const KILN = join(REPO, 'dist', 'kiln.js')
const LEASE_SECONDS = 6
const hp = helmPlan()
const root = process.getuid?.() === 0
/** Needs the control plane, helm, the Node runtime built, and root (test/helpers/tier.ts). */
const INSTALL_TIER = tier('k8s', !plan.run ? plan.reason : !hp.run ? hp.reason : !existsSync(NODE_RUNTIME) ? `${NODE_RUNTIME} is not built (npm run build)`
  : !root ? 'needs root: the node simulator gives each pod a mount namespace (its /etc/hosts, ServiceAccount token and /tmp)' : undefined)

const NODES: SimNode[] = [
  { name: 'mgmt-a', labels: { 'kiln.dev/node-role': 'management' } },
  { name: 'runtime-a', labels: { 'kiln.dev/pool': 'general' }, taints: [{ key: 'kiln.dev/runtime', value: 'true', effect: 'NoSchedule' }] },
  { name: 'runtime-b', labels: { 'kiln.dev/pool': 'general' }, taints: [{ key: 'kiln.dev/runtime', value: 'true', effect: 'NoSchedule' }] },
  isolatedNode('isolated-a'),
]
const RUNTIME_NODES = ['runtime-a', 'runtime-b']

/** The chart's values for this cluster: short leases, one router, the node runtime only, Redis without a volume. */
const VALUES = {
  executor: { leaseDuration: `${LEASE_SECONDS}s` },
  router: { autoscaling: { enabled: false }, replicas: 1 },
  runtimes: { node: { poolSize: 2 }, python: { enabled: false } },
  redis: { persistence: { enabled: false } },
  logLevel: 'debug',
}

/** A v1 Function written before the chart was installed (an earlier Kiln's CRD, v1 only). */
const LEGACY_V1_SPEC = {
  runtime: 'node', package: { sha256: 'b'.repeat(64) }, entrypoint: 'index.mjs', strategy: 'pool',
  resources: { cpu: 0.25, memory: '96Mi', pids: 128, openFiles: 2048 }, timeoutMs: 45_000, idleTimeoutMs: 300_000, env: { MODE: 'legacy' },
  async: { retries: 4, retryBackoffMs: 1500 },
}

/** The first admin token, given to the chart (adminToken.value): Kiln's form, kiln_<id>_<secret>. */
const ADMIN_TOKEN = `kiln_${randomBytes(5).toString('hex')}_${randomBytes(32).toString('base64url')}`

const HELLO = 'export default async (req) => ({ status: 200, body: `hello from ${process.env.HOSTNAME ?? "a pod"}` })\n'
const TALKER = 'let n = 0\nexport default async () => { n++; console.log(`talker-line-${n}`); return { status: 200, body: `said ${n}` } }\n'

describe('helm install on a cluster', INSTALL_TIER, () => {
  let cp: ControlPlane
  let kube: KubeClient
  let sim: NodeSimulator
  let server: string
  let dir: string
  let octetReservation: { octet: number; release(): void } | undefined
  const kubectl = (...args: string[]) => kubectlOk(cp.kubeconfigPath, args)
  const json = async (...args: string[]) => JSON.parse(await kubectl(...args, '-o', 'json'))
  const pods = async (selector: string, ns = NS) => (await kube.get(`/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(selector)}`)).items.filter((p: any) => !p.metadata.deletionTimestamp)

  /**
   * The `kiln` CLI as an operator uses it after `kiln login`: its context (the router's URL and the admin
   * token the chart installed) is in its own config dir; resolves with its exit code and output.
   */
  const cliEnv = () => ({ ...process.env, KILN_URL: '', KILN_TOKEN: '', KILN_NAMESPACE: '', XDG_CONFIG_HOME: join(dir, 'config') })
  const cli = (args: string[], timeoutMs = 180_000): Promise<{ code: number, stdout: string, stderr: string }> => new Promise((resolve) => {
    const child = spawn(process.execPath, [KILN, ...args], { env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c) => { stdout += c })
    child.stderr.on('data', (c) => { stderr += c })
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('exit', (code) => { clearTimeout(t); resolve({ code: code ?? -1, stdout, stderr }) })
  })
  const cliOk = async (...args: string[]) => {
    const r = await cli(args)
    if (r.code !== 0) throw new Error(`kiln ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`)
    return r.stdout
  }
  const deploy = async (name: string, source: string, ...flags: string[]) => {
    const src = join(dir, `${name}.mjs`)
    await writeFile(src, source)
    const r = await cli(['fn', 'deploy', name, '--code', src, '-q', ...flags])
    if (r.code !== 0) throw new Error(`kiln fn deploy ${name} exited ${r.code}: ${r.stderr}`)
    return r
  }
  const specialized = (fn: string) => pods(`kiln.dev/function=${fn},kiln.dev/state=specialized`)
  /**
   * `kiln fn invoke`, retried until it answers: a deploy returns once the controller stored the Function,
   * and the replica that owns it serves it once its watch has seen it.
   */
  const invoke = (name: string) => waitUntil(`${name} answering`, async () => {
    const r = await cli(['fn', 'invoke', name])
    return r.code === 0 ? r.stdout : undefined
  }, 120_000, 500)

  beforeAll(async () => {
    await ensureBinaries()
    dir = await mkdtemp(join(tmpdir(), 'kiln-chart-install-'))
    // Services get ClusterIPs in 127.<octet>.255.0/24, the pods 127.<octet>.x.y: the simulator listens on both.
    octetReservation = reserveLoopbackOctet(20, 219)
    const octet = octetReservation.octet
    cp = await startControlPlane({ serviceCidr: `127.${octet}.255.0/24`, apiserverFlags: ['--kubelet-preferred-address-types=InternalIP'] })
    kube = new KubeClient(cp.kubeconfigPath)
    sim = await startNodeSimulator({
      kubeconfigPath: cp.kubeconfigPath, nodes: NODES, cwd: REPO, loopbackOctet: octet, cluster: true,
      // KILN_K8S_KEEP=1 keeps the pods' logs (controller, executors, router, runtimes) for a look afterwards.
      ...(process.env.KILN_K8S_KEEP === '1' ? { logDir: await mkdtemp(join(tmpdir(), 'kiln-chart-pods-')) } : {}),
      images: {
        // The platform image: KILN_HOST 0.0.0.0 in a pod means the pod's own address, here its loopback one.
        'kiln/platform:0.1.0': ['sh', '-c', 'KILN_HOST="$HOST" exec node "$0" "$@"', KILN],
        'kiln/runtime-node:0.1.0': ['node', NODE_RUNTIME],
        'redis:7.4-alpine': ['node', join(REPO, 'test', 'k8s', 'fixtures', 'redis-pod.mjs')],
      },
    })
    await waitUntil('nodes without not-ready taints', async () => {
      const nodes = (await kube.get('/api/v1/nodes')).items
      return nodes.length === NODES.length && nodes.every((n: any) => !(n.spec.taints ?? []).some((t: any) => t.key.startsWith('node.kubernetes.io/')))
    })

    // An earlier install by `kubectl apply -k deploy/`: the Function CRD with v1 alone, and a Function stored under it.
    const crd = parseYaml(readFileSync(join(DEPLOY, 'crds', 'functions.yaml'), 'utf8'))
    crd.spec.versions = crd.spec.versions.filter((v: any) => v.name === 'v1').map((v: any) => ({ ...v, storage: true, deprecated: undefined, deprecationWarning: undefined }))
    delete crd.spec.conversion
    await kubectlOk(cp.kubeconfigPath, ['apply', '-f', '-'], { input: stringify(crd) })
    await waitUntil('the v1 CRD', async () => (await kubectlOk(cp.kubeconfigPath, ['get', 'crd', 'functions.kiln.dev', '-o', 'jsonpath={.status.conditions[?(@.type=="Established")].status}'])) === 'True')
    await kubectl('create', 'namespace', NS)
    await kubectlOk(cp.kubeconfigPath, ['create', '-f', '-'], { input: JSON.stringify({ apiVersion: 'kiln.dev/v1', kind: 'Function', metadata: { name: 'legacy', namespace: NS }, spec: LEGACY_V1_SPEC }) })

    await writeFile(join(dir, 'values.yaml'), stringify({ ...VALUES, adminToken: { value: ADMIN_TOKEN } }))
    // Taking over from kubectl (docs/kubernetes.md, "From the kustomize base to the chart").
    const installed = await helm(['install', 'kiln', join(DEPLOY, 'helm', 'kiln'), '--namespace', NS, '-f', join(dir, 'values.yaml'),
      '--take-ownership', '--force-conflicts', '--wait', '--timeout', '10m'], { kubeconfig: cp.kubeconfigPath, timeoutMs: 660_000 })
    if (installed.code !== 0) {
      process.stderr.write(`helm install failed:\n${installed.stderr}\nnode simulator logs in ${sim.logDir}\n`)
      throw new Error(`helm install exited ${installed.code}: ${installed.stderr}`)
    }
    const svc = await json('get', 'service', 'kiln-router', '-n', NS)
    server = `http://${svc.spec.clusterIP}:${svc.spec.ports[0].port}`
    await waitUntil('the router answers', async () => (await fetch(`${server}/healthz`)).ok, 60_000)
    await waitUntil('both executor replicas are members', async () => (await json('get', 'leases', '-n', NS, '-l', 'kiln.dev/member-of=kiln-executor')).items.length === 2, 120_000)
    // One endpoint, stored by `kiln login` with the admin token the chart installed.
    const login = await cli(['login', '--server', server, '--token', ADMIN_TOKEN, '--context', 'cluster'])
    if (login.code !== 0) throw new Error(`kiln login exited ${login.code}: ${login.stderr}`)
  }, BUILD_TIMEOUT_MS)

  afterAll(async () => {
    await sim?.stop()
    octetReservation?.release()
    await kube?.close()
    await cp?.stop()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('`kiln login` keeps the router as the one endpoint, with the admin token the chart installed', { timeout: 300_000 }, async () => {
    const me = JSON.parse(await cliOk('whoami', '-o', 'json'))
    expect(me).toMatchObject({ role: 'admin', namespaces: ['*'], name: 'initial-admin' })
    expect(await cliOk('config', 'current-context')).toBe('cluster\n')
    // The controller made no admin token of its own: the chart's is the one.
    const tokens = JSON.parse(await cliOk('token', 'list', '-o', 'json'))
    expect(tokens.filter((t: any) => t.role === 'admin').map((t: any) => t.id)).toEqual([ADMIN_TOKEN.split('_')[1]])
  })

  it("Kiln's components run only on management nodes, the node agent only where runtime pods may run", { timeout: 300_000 }, async () => {
    for (const component of ['controller', 'executor', 'router', 'redis']) {
      const ps = await pods(`app.kubernetes.io/component=${component}`)
      expect(ps.length, component).toBeGreaterThan(0)
      for (const p of ps) expect(p.spec.nodeName, `${component} ${p.metadata.name}`).toBe('mgmt-a')
    }
    expect((await pods('app.kubernetes.io/component=executor')).length).toBe(2)
    const agents = await pods('app.kubernetes.io/component=node-agent', 'kiln-node-agent')
    expect(agents.map((p: any) => p.spec.nodeName).sort()).toEqual(['isolated-a', 'runtime-a', 'runtime-b'])
  })

  it('the controller reports what the chart\'s runtime pods protect: all but the limits a function sets itself', { timeout: 300_000 }, async () => {
    const res = await fetch(`${server}/v1/nodes`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    expect(res.status).toBe(200)
    const nodes = await res.json() as { sandbox: { name: string; active: boolean }[] }[]
    expect(nodes[0]!.sandbox.filter((p) => !p.active).map((p) => p.name)).toEqual(['limits'])
  })

  it("the chart's built-in runtime is registered, and its pool pods run only on runtime nodes", { timeout: 300_000 }, async () => {
    const runtimes = JSON.parse(await cliOk('runtime', 'list', '-o', 'json'))
    expect(runtimes.map((r: any) => [r.metadata.name, r.spec.image, r.spec.poolSize])).toEqual([['node', 'kiln/runtime-node:0.1.0', 2]])
    const pool = await waitUntil('the node pool', async () => {
      const ps = await pods('kiln.dev/pool=kiln-pool-node')
      return ps.length >= 2 && ps.every((p: any) => p.spec.nodeName) ? ps : undefined
    }, 120_000)
    for (const p of pool) expect(RUNTIME_NODES).toContain(p.spec.nodeName)
  })

  it('a runtime made with `kiln runtime create --image` runs its pods on runtime nodes', { timeout: 300_000 }, async () => {
    await cliOk('runtime', 'create', 'node-extra', '--image', 'kiln/runtime-node:0.1.0', '--pool-size', '1')
    // Its pool pods (each executor replica also takes generic ones out of the pool, and the pool refills).
    const ps = await waitUntil('its pool pods', async () => {
      const ps = await pods('kiln.dev/runtime=node-extra')
      return ps.length > 0 && ps.every((p: any) => p.spec.nodeName) ? ps : undefined
    }, 120_000)
    for (const p of ps) {
      expect(RUNTIME_NODES).toContain(p.spec.nodeName)
      expect(p.spec.containers[0].image).toBe('kiln/runtime-node:0.1.0')
      expect(p.spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } })
      expect(p.spec.automountServiceAccountToken).toBe(false)
    }
    await cliOk('runtime', 'delete', 'node-extra')
  })

  it('a function deployed and invoked through one endpoint (the router; /v1 goes on to the controller)', { timeout: 300_000 }, async () => {
    // A pids or open-files limit has no pod setting: said at deploy, not silently dropped.
    const deployed = await deploy('hello', HELLO, '--pids', '64', '--open-files', '1024')
    expect(deployed.stderr).toContain('warning: resources.pids (64) is not enforced on Kubernetes')
    expect(deployed.stderr).toContain('warning: resources.openFiles (1024) is not enforced on Kubernetes')
    expect(await invoke('hello')).toMatch(/^hello from /)
    const list = JSON.parse(await cliOk('fn', 'list', '-o', 'json'))
    expect(list.map((f: any) => f.metadata.name)).toContain('hello')
    // The pod that answered: a specialized pod of hello, on a runtime node.
    const [pod] = await waitUntil('hello labelled on its pod', async () => { const ps = await specialized('hello'); return ps.length ? ps : undefined }, 30_000)
    expect(RUNTIME_NODES).toContain(pod.spec.nodeName)
  })

  it('`kiln fn logs -f` follows what the function writes, from its pods through the API', { timeout: 300_000 }, async () => {
    await deploy('talker', TALKER)
    const child = spawn(process.execPath, [KILN, 'fn', 'logs', 'talker', '-f'], { env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (c) => { out += c })
    try {
      // Invoke until the line shows in the followed output (the pod's log streams through the kubelet endpoint).
      await invoke('talker')
      const line = await waitUntil('a followed line', async () => {
        const said = (await cliOk('fn', 'invoke', 'talker')).trim()
        const n = said.replace('said ', '')
        return out.includes(`talker-line-${n}`) ? `talker-line-${n}` : undefined
      }, 60_000, 1000)
      expect(out).toMatch(new RegExp(`^\\S+ \\S+ log ${line}$`, 'm'))
      const tail = JSON.parse(await cliOk('fn', 'logs', 'talker', '-o', 'json'))
      expect(tail.lines.some((l: string) => l.endsWith(` log ${line}`))).toBe(true)
    } finally {
      child.kill('SIGTERM')
    }
  })

  it('a noisy function runs only on isolated nodes', { timeout: 300_000 }, async () => {
    await deploy('noisy', HELLO, '--strategy', 'warm', '--min-warm', '1')
    await waitUntil('its warm pod', async () => (await specialized('noisy')).length === 1, 120_000)
    await cliOk('fn', 'isolate', 'noisy', '--reason', 'test: marked noisy')
    const moved = await waitUntil('its pods on isolated nodes only', async () => {
      const ps = await specialized('noisy')
      return ps.length === 1 && ps.every((p: any) => p.spec.nodeName === 'isolated-a') ? ps : undefined
    }, 120_000)
    expect(moved[0].spec.tolerations).toEqual(expect.arrayContaining([expect.objectContaining({ key: 'kiln.dev/isolated', effect: 'NoSchedule' })]))
    expect(await invoke('noisy')).toMatch(/^hello from /)
  })

  it('two executor replicas keep exactly minWarm warm pods between them', { timeout: 300_000 }, async () => {
    await deploy('warm2', HELLO, '--strategy', 'warm', '--min-warm', '2')
    const warm = await waitUntil('2 warm pods', async () => { const ps = await specialized('warm2'); return ps.length === 2 ? ps : undefined }, 120_000)
    // One replica holds them, the function's owner; the other holds none, and it stays so.
    const owners = new Set(warm.map((p: any) => p.metadata.labels['kiln.dev/executor']))
    expect(owners.size).toBe(1)
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 1500))
      expect((await specialized('warm2')).length).toBe(2)
    }
    expect(await invoke('warm2')).toMatch(/^hello from /)
  })

  it("killing the owner reclaims its pods within the lease time, and the warm set comes back on a live replica", { timeout: 300_000 }, async () => {
    const warm = await specialized('warm2')
    const owner: string = warm[0].metadata.labels['kiln.dev/executor']
    const lease = await json('get', 'lease', `kiln-executor-member-${owner}`, '-n', NS)
    const renewed = Date.parse(lease.spec.renewTime)
    const killedAt = Date.now()
    await kubectl('delete', 'pod', owner, '-n', NS, '--grace-period=0', '--force')
    const names = warm.map((p: any) => p.metadata.name)
    // Each pod is reclaimed (relabelled by a survivor, then deleted): its deletion time says when.
    const reclaimedAt = await waitUntil('its pods reclaimed', async () => {
      const at: number[] = []
      for (const n of names) {
        const p = await kube.get(`/api/v1/namespaces/${NS}/pods/${n}`).catch(() => undefined)
        if (p && !p.metadata.deletionTimestamp) return undefined
        at.push(p ? Date.parse(p.metadata.deletionTimestamp) - 1000 * (p.metadata.deletionGracePeriodSeconds ?? 0) : Date.now())
      }
      return at
    }, 60_000)
    for (const t of reclaimedAt) {
      // Not before the owner's Lease ran out (second precision on the API's side), and soon after it.
      expect(t).toBeGreaterThanOrEqual(renewed + LEASE_SECONDS * 1000 - 1000)
      expect(t - killedAt).toBeLessThan(LEASE_SECONDS * 1000 + 20_000)
    }
    const back = await waitUntil('2 warm pods again, on a live replica', async () => {
      const ps = await specialized('warm2')
      return ps.length === 2 && ps.every((p: any) => p.metadata.labels['kiln.dev/executor'] !== owner) ? ps : undefined
    }, 180_000)
    expect(new Set(back.map((p: any) => p.metadata.labels['kiln.dev/executor'])).size).toBe(1)
    expect(await invoke('warm2')).toMatch(/^hello from /)
  })

  it('a Function stored under v1 before the install reads back through v2 unchanged, and Kiln reads it as written', { timeout: 300_000 }, async () => {
    const crd = await json('get', 'crd', 'functions.kiln.dev')
    expect(crd.status.storedVersions).toEqual(['v1', 'v2'])
    expect(crd.spec.versions.find((v: any) => v.storage).name).toBe('v2')
    // The controller put its CA into the CRD's conversion webhook.
    await waitUntil('the caBundle', async () => (await json('get', 'crd', 'functions.kiln.dev')).spec.conversion.webhook.clientConfig.caBundle, 60_000)
    const v2 = await json('get', 'functions.v2.kiln.dev', 'legacy', '-n', NS)
    expect(v2.apiVersion).toBe('kiln.dev/v2')
    expect(v2.spec).toEqual({
      runtime: 'node', package: { sha256: 'b'.repeat(64) }, entrypoint: 'index.mjs', strategy: 'pool',
      resources: { limits: { cpu: '250m', memory: '96Mi' } }, processLimits: { pids: 128, openFiles: 2048 }, timeout: '45s', idleTimeout: '5m', env: { MODE: 'legacy' },
      async: { retries: 4, retryBackoff: '1500ms' },
    })
    const v1 = await json('get', 'functions.v1.kiln.dev', 'legacy', '-n', NS)
    expect(v1.spec).toEqual(LEGACY_V1_SPEC)
    const viaKiln = JSON.parse(await cliOk('fn', 'get', 'legacy', '-o', 'json'))
    expect(viaKiln.spec).toEqual(LEGACY_V1_SPEC)
    // Written through v1 now (stored as v2 by the webhook): read back through v1, the same.
    const again = { apiVersion: 'kiln.dev/v1', kind: 'Function', metadata: { name: 'legacy2', namespace: NS }, spec: { ...LEGACY_V1_SPEC, maxAgeMs: 1500, reuse: 'recycle' } }
    await kubectlOk(cp.kubeconfigPath, ['create', '-f', '-'], { input: JSON.stringify(again) })
    expect((await json('get', 'functions.v1.kiln.dev', 'legacy2', '-n', NS)).spec).toEqual(again.spec)
    expect((await json('get', 'functions.v2.kiln.dev', 'legacy2', '-n', NS)).spec).toMatchObject({ maxAge: '1500ms', reuse: 'recycle' })
  })
})
