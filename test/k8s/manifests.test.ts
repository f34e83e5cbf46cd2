// deploy/ against a real kube-apiserver: the CRDs install and validate, the whole kustomize base is
// accepted by server-side dry run, and each ServiceAccount may do what its component needs and no more.
// Only etcd and kube-apiserver run here; test/k8s/scheduling.test.ts adds the scheduler and nodes.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { fromV2, toV2 } from '../../core/store/crd-conversion.js'
import { AsyncPolicy, CronTriggerSpec, FunctionSpec, FunctionTrafficSpec, FunctionVersionSpec, HTTPTriggerSpec, NamespaceSpec, QueueTriggerSpec, RuntimeSpec } from '../../core/types.js'
import { startControlPlane, type ControlPlane } from './controlplane/controlplane.js'
import { kubectl, kubectlOk } from './controlplane/kubectl.js'
import { BUILD_TIMEOUT_MS, DEPLOY, ensureBinaries, K8S } from './setup.js'

const CRDS = ['functions', 'runtimes', 'httptriggers', 'workflows', 'namespaces', 'crontriggers', 'queuetriggers', 'functionversions', 'functiontraffics', 'packages'].map(n => join(DEPLOY, 'crds', `${n}.yaml`))

function crdSpecProperties(file: string, version = 'v1'): string[] {
  const crd = parseAllDocuments(readFileSync(file, 'utf8'))[0]!.toJS()
  return Object.keys(crd.spec.versions.find((v: any) => v.name === version).schema.openAPIV3Schema.properties.spec.properties).sort()
}

describe('CRD schemas follow core/types.ts', () => {
  it.each([
    ['functions', FunctionSpec],
    ['runtimes', RuntimeSpec],
    ['httptriggers', HTTPTriggerSpec],
    ['namespaces', NamespaceSpec],
    ['crontriggers', CronTriggerSpec],
    ['queuetriggers', QueueTriggerSpec],
    ['functionversions', FunctionVersionSpec],
    ['functiontraffics', FunctionTrafficSpec],
  ] as const)('%s: the v1 CRD spec has exactly the fields of the TypeBox spec', (name, schema) => {
    expect(crdSpecProperties(join(DEPLOY, 'crds', `${name}.yaml`))).toEqual(Object.keys(schema.properties).sort())
  })

  it('functions: the v2 CRD spec has exactly the fields Kiln\'s spec converts to (crd-conversion.ts)', () => {
    // Every field set, so each is converted: the durations renamed, resources split into resources and processLimits.
    const every = Object.fromEntries(Object.keys(FunctionSpec.properties).map((k) => [k, k.endsWith('Ms') ? 1000 : k === 'resources' ? { cpu: 1, pids: 64 } : 'x']))
    expect(crdSpecProperties(join(DEPLOY, 'crds', 'functions.yaml'), 'v2')).toEqual(Object.keys(toV2(every)).sort())
  })

  it('functions: v1 and v2 async have the fields of the TypeBox policy, v2\'s backoff a duration (crd-conversion.ts)', () => {
    const crd = parseAllDocuments(readFileSync(join(DEPLOY, 'crds', 'functions.yaml'), 'utf8'))[0]!.toJS()
    const async = (version: string) => crd.spec.versions.find((v: any) => v.name === version).schema.openAPIV3Schema.properties.spec.properties.async.properties
    expect(Object.keys(async('v1')).sort()).toEqual(Object.keys(AsyncPolicy.properties).sort())
    const every = Object.fromEntries(Object.keys(AsyncPolicy.properties).map((k) => [k, k.endsWith('Ms') ? 1000 : 1]))
    expect(Object.keys(async('v2')).sort()).toEqual(Object.keys(toV2({ async: every }).async as object).sort())
    expect(async('v2').retryBackoff.type).toBe('string')
  })

  it('functions: v2 resources are requests and limits of cpu and memory; process limits are v1\'s other resources', () => {
    const crd = parseAllDocuments(readFileSync(join(DEPLOY, 'crds', 'functions.yaml'), 'utf8'))[0]!.toJS()
    const v2 = crd.spec.versions.find((v: any) => v.name === 'v2').schema.openAPIV3Schema.properties.spec.properties
    expect(Object.keys(v2.resources.properties).sort()).toEqual(['limits', 'requests'])
    for (const r of ['limits', 'requests']) expect(Object.keys(v2.resources.properties[r].properties).sort()).toEqual(['cpu', 'memory'])
    const v1Resources = Object.keys((FunctionSpec.properties.resources as any).properties).filter((k) => !['cpu', 'memory', 'requests'].includes(k))
    expect(Object.keys(v2.processLimits.properties).sort()).toEqual(v1Resources.sort())
  })
})

// kiln.dev/v2, the stored version: writing v1 needs the controller's conversion webhook, which does not
// run here (test/k8s/chart-install.test.ts converts through it).
const FUNCTION = {
  apiVersion: 'kiln.dev/v2',
  kind: 'Function',
  metadata: { name: 'hello', namespace: 'kiln' },
  spec: {
    runtime: 'node',
    package: { sha256: 'a'.repeat(64) },
    entrypoint: 'index.mjs',
    env: { GREETING: 'hi' },
    resources: { requests: { cpu: '250m', memory: '64Mi' }, limits: { cpu: '500m', memory: '128Mi' } },
    processLimits: { pids: 64, openFiles: 1024, fileSize: '64Mi', tmp: '32Mi' },
    timeout: '30s',
    idleTimeout: '2m',
    maxAge: '10m',
    concurrency: 10,
    strategy: 'warm',
    reuse: 'recycle',
    maxRequests: 100,
    minWarm: 'auto',
    warmup: { path: '/?warmup=1', requests: 2 },
    minScale: 0,
    maxScale: 5,
    async: { retries: 3, retryBackoff: '500ms', concurrency: 4 },
    nodeSelector: { 'kiln.dev/pool': 'general' },
    tolerations: [{ key: 'kiln.dev/isolated', value: 'true', effect: 'NoSchedule' }],
    shape: 'fission',
    private: true,
    secrets: ['db'],
    secretEnv: [{ secret: 'db', key: 'password', env: 'DB_PASSWORD' }],
  },
}

describe('deploy/ on a real kube-apiserver', K8S, () => {
  let cp: ControlPlane
  const k = (args: string[], input?: string) => kubectl(cp.kubeconfigPath, args, { input, kubectlPath: cp.binaries.kubectl })
  const ok = (args: string[], input?: string) => kubectlOk(cp.kubeconfigPath, args, { input })
  // "pods/exec" means the subresource; kubectl reads "resource/x" as an object named x, hence --subresource.
  const canI = async (sa: string, verb: string, resource: string, ns = 'kiln') => {
    const [res, sub] = resource.split('/')
    const args = ['auth', 'can-i', verb, res!, ...(sub ? [`--subresource=${sub}`] : []), `--as=system:serviceaccount:${sa}`, ...(ns ? ['-n', ns] : [])]
    return (await k(args)).stdout.trim()
  }

  beforeAll(async () => {
    await ensureBinaries()
    cp = await startControlPlane({ controllerManager: false, scheduler: false })
  }, BUILD_TIMEOUT_MS)
  afterAll(async () => { await cp?.stop() })

  it('the ten CRDs install and reach Established', async () => {
    await ok(['apply', ...CRDS.flatMap(f => ['-f', f])])
    await ok(['wait', '--for=condition=Established', '--timeout=60s',
      'crd/functions.kiln.dev', 'crd/runtimes.kiln.dev', 'crd/httptriggers.kiln.dev', 'crd/workflows.kiln.dev', 'crd/namespaces.kiln.dev', 'crd/crontriggers.kiln.dev', 'crd/queuetriggers.kiln.dev',
      'crd/functionversions.kiln.dev', 'crd/functiontraffics.kiln.dev', 'crd/packages.kiln.dev'])
    const names = JSON.parse(await ok(['get', 'crd', '-l', 'app.kubernetes.io/part-of=kiln', '-o', 'json'])).items.map((c: any) => c.metadata.name)
    expect(names.sort()).toEqual(['crontriggers.kiln.dev', 'functions.kiln.dev', 'functiontraffics.kiln.dev', 'functionversions.kiln.dev', 'httptriggers.kiln.dev', 'namespaces.kiln.dev', 'packages.kiln.dev', 'queuetriggers.kiln.dev', 'runtimes.kiln.dev', 'workflows.kiln.dev'])
  })

  it('a FunctionVersion is immutable; a FunctionTraffic\'s weights add up to 100', async () => {
    await ok(['apply', '-f', join(DEPLOY, 'namespace.yaml')])
    // A version holds the spec in Kiln's own form (v1's fields), as the CRD store writes it.
    const kilnSpec = fromV2(FUNCTION.spec)
    const version = { apiVersion: 'kiln.dev/v1', kind: 'FunctionVersion', metadata: { name: 'hello-v1', namespace: 'kiln' }, spec: { function: 'hello', version: 1, spec: kilnSpec, createdBy: { id: 'abc', name: 'ci' }, changed: [] } }
    await ok(['apply', '-f', '-'], JSON.stringify(version))
    expect((JSON.parse(await ok(['get', 'functionversion', 'hello-v1', '-n', 'kiln', '-o', 'json']))).spec.spec).toEqual(kilnSpec)
    const edit = await k(['patch', 'functionversion', 'hello-v1', '-n', 'kiln', '--type=merge', '-p', JSON.stringify({ spec: { spec: { env: { GREETING: 'changed' } } } })])
    expect(edit.code).not.toBe(0)
    expect(edit.stderr).toContain('a function version is immutable')
    const traffic = (targets: unknown, more: Record<string, unknown> = {}) => JSON.stringify({ apiVersion: 'kiln.dev/v1', kind: 'FunctionTraffic', metadata: { name: 'hello', namespace: 'kiln' }, spec: { function: 'hello', traffic: { targets, ...more } } })
    await ok(['apply', '-f', '-'], traffic([{ version: 1, weight: 90 }, { version: 2, weight: 10 }]))
    const off = await k(['apply', '--dry-run=server', '-f', '-'], traffic([{ version: 1, weight: 90 }, { version: 2, weight: 20 }]))
    expect(off.code).not.toBe(0)
    expect(off.stderr).toContain('the weights add up to 100')
    const both = await k(['apply', '--dry-run=server', '-f', '-'], traffic([{ version: 1, weight: 100 }], { stickyHeader: 'X-User', stickyCookie: 's' }))
    expect(both.stderr).toContain('not both')
    await ok(['delete', 'functionversion', 'hello-v1', '-n', 'kiln'])
    await ok(['delete', 'functiontraffic', 'hello', '-n', 'kiln'])
  })

  it('kubectl apply --dry-run=server -k deploy/ is accepted', async () => {
    // Server-side dry run admits objects into namespaces that exist; the namespaces go first, for real.
    await ok(['apply', '-f', join(DEPLOY, 'namespace.yaml')])
    const r = await k(['apply', '--dry-run=server', '-k', DEPLOY])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/deployment\.apps\/kiln-executor (created|configured|unchanged) \(server dry run\)/)
    expect(r.stdout).toMatch(/daemonset\.apps\/kiln-node-agent (created|configured|unchanged) \(server dry run\)/)
    expect(r.stdout).toMatch(/horizontalpodautoscaler\.autoscaling\/kiln-router (created|configured|unchanged) \(server dry run\)/)
  })

  it('each file of deploy/ applies as it is too (kubectl apply -f, which reads YAML 1.1: `yes` is a boolean there)', async () => {
    await ok(['apply', '-f', join(DEPLOY, 'namespace.yaml')])
    const files = parseAllDocuments(readFileSync(join(DEPLOY, 'kustomization.yaml'), 'utf8'))[0]!.toJS().resources as string[]
    const r = await k(['apply', '--dry-run=server', ...files.flatMap((f) => ['-f', join(DEPLOY, f)])])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/deployment\.apps\/kiln-redis (created|configured|unchanged) \(server dry run\)/)
  })

  it('a Function using every field is stored as written and shows in printer columns', async () => {
    await ok(['apply', '-f', '-'], JSON.stringify(FUNCTION))
    const stored = JSON.parse(await ok(['get', 'function', 'hello', '-n', 'kiln', '-o', 'json']))
    expect(stored.spec).toEqual(FUNCTION.spec)
    const table = await ok(['get', 'functions', '-n', 'kiln'])
    expect(table.split('\n')[0]).toMatch(/^NAME\s+RUNTIME\s+STRATEGY\s+READY\s+INSTANCES\s+AGE/)
    expect(table).toMatch(/hello\s+node\s+warm/)
    const all = await ok(['get', 'kiln', '-n', 'kiln', '-o', 'name'])
    expect(all.trim().split('\n').filter((l) => l.startsWith('function.'))).toEqual(['function.kiln.dev/hello'])
  })

  it('status is a subresource: a spec write leaves it alone and a status write leaves the spec alone', async () => {
    const condition = { type: 'Ready', status: 'True', reason: 'Warm', message: '2 warm instances', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }
    await ok(['patch', 'function', 'hello', '-n', 'kiln', '--subresource=status', '--type=merge', '-p',
      JSON.stringify({ status: { conditions: [condition], readyInstances: 2 }, spec: { strategy: 'pool' } })])
    const stored = JSON.parse(await ok(['get', 'function', 'hello', '-n', 'kiln', '-o', 'json']))
    expect(stored.status.readyInstances).toBe(2)
    expect(stored.spec.strategy).toBe('warm')
    expect(await ok(['get', 'function', 'hello', '-n', 'kiln', '--no-headers'])).toMatch(/hello\s+node\s+warm\s+True\s+2/)
  })

  it.each([
    ['an unknown strategy', { strategy: 'eager' }, 'spec.strategy'],
    ['minWarm that is neither a number nor "auto"', { minWarm: 'lots' }, 'spec.minWarm'],
    ['minWarm above 1000', { minWarm: 5000 }, 'spec.minWarm'],
    ['minScale above maxScale', { minScale: 6, maxScale: 5 }, 'spec'],
    ['a package that is not a sha256', { package: { sha256: 'abc' } }, 'spec.package.sha256'],
    ['a toleration with an unknown effect', { tolerations: [{ key: 'k', effect: 'Sometimes' }] }, 'spec.tolerations[0].effect'],
    ['a timeout that is not a duration', { timeout: 'soon' }, 'spec.timeout'],
    ['a timeout over an hour', { timeout: '2h' }, 'spec.timeout'],
    ['an integer timeout (v1\'s milliseconds)', { timeout: 30000 }, 'spec.timeout'],
    ['a cpu limit that is no quantity', { resources: { limits: { cpu: 'lots' } } }, 'spec.resources.limits.cpu'],
    ['a cpu limit of more than 64 cores', { resources: { limits: { cpu: '65' } } }, 'spec.resources.limits.cpu'],
    ['a memory size in milli-bytes', { resources: { limits: { memory: '128m' } } }, 'spec.resources.limits.memory'],
    ['requests above limits', { resources: { requests: { cpu: '2' }, limits: { cpu: '1' } } }, 'requests.cpu must not exceed limits.cpu'],
    ['a file size in milli-bytes', { processLimits: { fileSize: '64m' } }, 'spec.processLimits.fileSize'],
    ['open files below 64', { processLimits: { openFiles: 8 } }, 'spec.processLimits.openFiles'],
    ['an integer retry backoff (v1\'s milliseconds)', { async: { retryBackoff: 500 } }, 'spec.async.retryBackoff'],
    ['a retry backoff over an hour', { async: { retryBackoff: '2h' } }, 'spec.async.retryBackoff'],
    ['more than 100 retries', { async: { retries: 101 } }, 'spec.async.retries'],
  ])('a Function with %s is rejected, naming the field', async (_what, change, field) => {
    const bad = { ...FUNCTION, metadata: { name: 'bad', namespace: 'kiln' }, spec: { ...FUNCTION.spec, ...change } }
    const r = await k(['apply', '--dry-run=server', '-f', '-'], JSON.stringify(bad))
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain('is invalid')
    expect(r.stderr).toContain(field)
  })

  it('a v2 Function with v1\'s field names is refused, naming the field', async () => {
    const bad = { ...FUNCTION, metadata: { name: 'bad', namespace: 'kiln' }, spec: { ...FUNCTION.spec, timeoutMs: 30000 } }
    const r = await k(['apply', '--dry-run=server', '-f', '-'], JSON.stringify(bad))
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain('unknown field "spec.timeoutMs"')
  })

  it('Runtime, HTTPTrigger, Workflow and CronTrigger objects validate', async () => {
    const good = [
      { apiVersion: 'kiln.dev/v1', kind: 'Runtime', metadata: { name: 'node', namespace: 'kiln' }, spec: { protocol: 'kiln', image: 'kiln/runtime-node:dev', poolSize: 3, port: 8888 } },
      { apiVersion: 'kiln.dev/v1', kind: 'HTTPTrigger', metadata: { name: 'hello', namespace: 'kiln' }, spec: { method: 'GET', path: '/hello', function: 'hello' } },
      { apiVersion: 'kiln.dev/v1', kind: 'Workflow', metadata: { name: 'greet', namespace: 'kiln' }, spec: { tasks: { a: { function: 'hello', retry: 3 }, b: { function: 'hello', requires: ['a'], input: '{{ $.tasks.a.output }}' } }, output: { a: '{{ $.tasks.a.output }}' } } },
      { apiVersion: 'kiln.dev/v1', kind: 'CronTrigger', metadata: { name: 'nightly', namespace: 'kiln' }, spec: { function: 'hello', schedule: '0 3 * * *', timezone: 'Asia/Seoul', concurrency: 'forbid', data: { full: true, n: [1, 2] } } },
    ]
    for (const obj of good) await ok(['apply', '-f', '-'], JSON.stringify(obj))
    // A route to one version of a function, and one to an alias of it: shown in the wide table.
    for (const [name, pin] of [['hello-v3', { version: 3 }], ['hello-prod', { alias: 'prod' }]] as const) {
      await ok(['apply', '-f', '-'], JSON.stringify({ ...good[1], metadata: { name, namespace: 'kiln' }, spec: { method: 'GET', path: `/${name}`, function: 'hello', ...pin } }))
    }
    const [header, ...rows] = (await ok(['get', 'httptriggers', '-n', 'kiln', '-o', 'wide'])).trimEnd().split('\n')
    const names = header!.split(/\s+/)
    // A table cell by its column: from the column's heading to the next one (an unset field is blank).
    const cell = (row: string, col: string) => row.slice(header!.indexOf(col), header!.indexOf(names[names.indexOf(col) + 1]!)).trim()
    const table = Object.fromEntries(rows.map((r) => [cell(r, 'NAME'), { fn: cell(r, 'FUNCTION'), alias: cell(r, 'ALIAS'), version: cell(r, 'VERSION') }]))
    expect(table['hello-v3']).toEqual({ fn: 'hello', alias: '', version: '3' })
    expect(table['hello-prod']).toEqual({ fn: 'hello', alias: 'prod', version: '' })
    const bad = [
      [{ ...good[0], metadata: { name: 'x', namespace: 'kiln' }, spec: { protocol: 'grpc', image: 'x' } }, 'spec.protocol'],
      [{ ...good[0], metadata: { name: 'x', namespace: 'kiln' }, spec: { poolSize: 1 } }, 'a runtime needs an image or a command'],
      [{ ...good[1], metadata: { name: 'x', namespace: 'kiln' }, spec: { method: 'GET', path: '/x', function: 'a', workflow: 'b' } }, 'exactly one of function or workflow'],
      [{ ...good[1], metadata: { name: 'x', namespace: 'kiln' }, spec: { method: 'GET', path: 'no-slash', function: 'a' } }, 'spec.path'],
      [{ ...good[2], metadata: { name: 'x', namespace: 'kiln' }, spec: { tasks: {} } }, 'spec.tasks'],
      [{ ...good[3], metadata: { name: 'x', namespace: 'kiln' }, spec: { function: 'hello', schedule: '* * * * *', concurrency: 'sometimes' } }, 'spec.concurrency'],
      [{ ...good[3], metadata: { name: 'x', namespace: 'kiln' }, spec: { schedule: '* * * * *' } }, 'spec.function'],
      [{ ...good[1], metadata: { name: 'x', namespace: 'kiln' }, spec: { method: 'GET', path: '/x', function: 'a', version: 2, alias: 'prod' } }, 'a version or an alias (not both) goes with a function'],
      [{ ...good[1], metadata: { name: 'x', namespace: 'kiln' }, spec: { method: 'GET', path: '/x', workflow: 'b', alias: 'prod' } }, 'a version or an alias (not both) goes with a function'],
      [{ ...good[1], metadata: { name: 'x', namespace: 'kiln' }, spec: { method: 'GET', path: '/x', function: 'a', alias: '42' } }, 'an alias has a letter'],
      [{ ...good[1], metadata: { name: 'x', namespace: 'kiln' }, spec: { method: 'GET', path: '/x', function: 'a', version: 0 } }, 'spec.version'],
    ] as const
    for (const [obj, field] of bad) {
      const r = await k(['apply', '--dry-run=server', '-f', '-'], JSON.stringify(obj))
      expect(r.code, JSON.stringify(obj)).not.toBe(0)
      expect(r.stderr).toContain(field)
    }
  })

  it('QueueTrigger objects validate, and the API server refuses the URL of another kind and a topic read back', async () => {
    const good = { apiVersion: 'kiln.dev/v1', kind: 'QueueTrigger', metadata: { name: 'orders', namespace: 'kiln' }, spec: { kind: 'nats', url: 'nats://nats.kiln:4222', topic: 'orders.new', function: 'hello', responseTopic: 'orders.done', errorTopic: 'orders.dead', maxRetries: 3, concurrency: 4, contentType: 'application/json' } }
    await ok(['apply', '-f', '-'], JSON.stringify(good))
    expect(JSON.parse(await ok(['get', 'mqt', 'orders', '-n', 'kiln', '-o', 'json'])).spec).toEqual(good.spec)
    expect(await ok(['get', 'queuetriggers', '-n', 'kiln', '--no-headers'])).toMatch(/orders\s+nats\s+orders\.new\s+hello/)
    const bad = [
      [{ kind: 'kafka' }, 'spec.kind'],
      [{ kind: 'redis-stream' }, 'redis:// or rediss://'],
      [{ url: 'redis://cache:6379' }, 'nats:// or tls://'],
      [{ responseTopic: 'orders.new' }, 'the response topic must not be the topic'],
      [{ errorTopic: 'orders.new' }, 'the error topic must not be the topic'],
      [{ concurrency: 0 }, 'spec.concurrency'],
      [{ topic: 'two words' }, 'spec.topic'],
    ] as const
    for (const [change, field] of bad) {
      const obj = { ...good, metadata: { name: 'x', namespace: 'kiln' }, spec: { ...good.spec, ...change } }
      const r = await k(['apply', '--dry-run=server', '-f', '-'], JSON.stringify(obj))
      expect(r.code, JSON.stringify(change)).not.toBe(0)
      expect(r.stderr).toContain(field)
    }
  })

  describe('RBAC after kubectl apply -k deploy/', () => {
    beforeAll(async () => { await ok(['apply', '-k', DEPLOY]) })

    it.each([
      ['create', 'pods'], ['delete', 'pods'], ['patch', 'pods'], ['watch', 'pods'], ['patch', 'pods/resize'],
      ['create', 'deployments.apps'], ['update', 'replicasets.apps'], ['patch', 'deployments.apps/scale'],
      ['update', 'leases.coordination.k8s.io'], ['create', 'events'],
      ['watch', 'functions.kiln.dev'], ['patch', 'functions.kiln.dev/status'], ['watch', 'namespaces.kiln.dev'], ['watch', 'crontriggers.kiln.dev'], ['watch', 'queuetriggers.kiln.dev'],
      ['watch', 'functionversions.kiln.dev'], ['update', 'functiontraffics.kiln.dev'],
      // tokens, Kiln secrets and the package-URL key are Secrets: read, and the key made when it starts first
      ['get', 'secrets'], ['watch', 'secrets'], ['create', 'secrets'],
    ])('the executor may %s %s in kiln', async (verb, resource) => {
      expect(await canI('kiln:kiln-executor', verb, resource)).toBe('yes')
    })

    it('the executor may list nodes', async () => {
      expect(await canI('kiln:kiln-executor', 'list', 'nodes', '')).toBe('yes')
    })

    it.each([
      ['update', 'secrets', 'kiln'], ['delete', 'secrets', 'kiln'], ['get', 'secrets', 'default'], ['create', 'pods', 'default'], ['delete', 'nodes', ''],
      ['patch', 'nodes', ''], ['create', 'pods/exec', 'kiln'], ['patch', 'pods/status', 'kiln'], ['patch', 'pods/resize', 'default'], ['update', 'functions.kiln.dev', 'kiln'],
      ['create', 'functionversions.kiln.dev', 'kiln'], ['update', 'functionversions.kiln.dev', 'kiln'], ['delete', 'functiontraffics.kiln.dev', 'kiln'],
      ['create', 'crontriggers.kiln.dev', 'kiln'], ['get', 'packages.kiln.dev', 'kiln'],
      ['create', 'rolebindings.rbac.authorization.k8s.io', 'kiln'], ['create', 'leases.coordination.k8s.io', 'kube-system'],
    ])('the executor may not %s %s (namespace "%s")', async (verb, resource, ns) => {
      expect(await canI('kiln:kiln-executor', verb, resource, ns)).toBe('no')
    })

    it('the controller writes Kiln resources, their status and Kiln\'s Secrets in kiln, reads pods and their logs, and runs none', async () => {
      for (const r of ['functions', 'runtimes', 'httptriggers', 'workflows', 'namespaces', 'crontriggers', 'queuetriggers']) {
        expect(await canI('kiln:kiln-controller', 'create', `${r}.kiln.dev`)).toBe('yes')
        expect(await canI('kiln:kiln-controller', 'patch', `${r}.kiln.dev/status`)).toBe('yes')
      }
      for (const r of ['functionversions', 'functiontraffics']) {
        for (const verb of ['create', 'update', 'delete', 'watch']) expect(await canI('kiln:kiln-controller', verb, `${r}.kiln.dev`)).toBe('yes')
      }
      for (const verb of ['get', 'list', 'watch', 'create', 'update', 'delete']) expect(await canI('kiln:kiln-controller', verb, 'secrets')).toBe('yes')
      // Package objects: read and loaded into the package store, their status written; never written themselves.
      for (const [verb, r] of [['watch', 'packages.kiln.dev'], ['patch', 'packages.kiln.dev/status']] as const) expect(await canI('kiln:kiln-controller', verb, r)).toBe('yes')
      for (const [verb, r] of [['create', 'packages.kiln.dev'], ['delete', 'packages.kiln.dev']] as const) expect(await canI('kiln:kiln-controller', verb, r)).toBe('no')
      for (const [verb, r] of [['watch', 'pods'], ['get', 'pods/log']] as const) expect(await canI('kiln:kiln-controller', verb, r)).toBe('yes')
      for (const [verb, r] of [['create', 'pods'], ['delete', 'pods'], ['create', 'pods/exec']] as const) expect(await canI('kiln:kiln-controller', verb, r)).toBe('no')
      expect(await canI('kiln:kiln-controller', 'get', 'secrets', 'default')).toBe('no')
    })

    it('the controller may set the conversion caBundle of the Function CRD and of no other', async () => {
      const can = async (name: string) => (await k(['auth', 'can-i', 'patch', `customresourcedefinitions.apiextensions.k8s.io/${name}`, '--as=system:serviceaccount:kiln:kiln-controller'])).stdout.trim()
      expect(await can('functions.kiln.dev')).toBe('yes')
      expect(await can('runtimes.kiln.dev')).toBe('no')
      expect(await can('httproutes.gateway.networking.k8s.io')).toBe('no')
    })

    it('the router only reads', async () => {
      for (const r of ['functions.kiln.dev', 'httptriggers.kiln.dev', 'workflows.kiln.dev', 'services', 'endpoints', 'endpointslices.discovery.k8s.io', 'leases.coordination.k8s.io']) {
        expect(await canI('kiln:kiln-router', 'watch', r)).toBe('yes')
      }
      for (const [verb, r] of [['create', 'functions.kiln.dev'], ['patch', 'httptriggers.kiln.dev'], ['get', 'secrets'], ['list', 'pods'], ['update', 'leases.coordination.k8s.io']]) {
        expect(await canI('kiln:kiln-router', verb!, r!)).toBe('no')
      }
    })

    it('the node agent reads runtime pods and nodes, nothing else', async () => {
      expect(await canI('kiln-node-agent:kiln-node-agent', 'watch', 'pods', 'kiln')).toBe('yes')
      expect(await canI('kiln-node-agent:kiln-node-agent', 'list', 'nodes', '')).toBe('yes')
      expect(await canI('kiln-node-agent:kiln-node-agent', 'delete', 'pods', 'kiln')).toBe('no')
      expect(await canI('kiln-node-agent:kiln-node-agent', 'list', 'pods', 'kube-system')).toBe('no')
      expect(await canI('kiln-node-agent:kiln-node-agent', 'get', 'secrets', 'kiln-node-agent')).toBe('no')
    })
  })
})
