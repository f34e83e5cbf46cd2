// The conversions of `kiln apply -f`, document by document: Kiln's own kinds, a Fission spec folder's
// mapping (environments, executors, timeouts, routes), an OpenFaaS stack file's (templates, scaling
// labels, variables), and what is refused with the file named.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseDocs, readDocs } from '../../../cli/apply/documents.js'
import { convert } from '../../../cli/apply/formats/index.js'
import { builtinRuntimeFor } from '../../../cli/apply/formats/fission.js'
import { runtimeForLang } from '../../../cli/apply/formats/openfaas.js'
import { setLabel } from '../../../cli/apply/run.js'

let dir: string
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'kiln-formats-unit-')) })
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

const docs = (text: string, file = join(dir, 'specs', 'x.yaml')) => parseDocs(text, file, join(dir, 'specs'))

describe('reading documents', () => {
  it('several documents per file, a kind: List, and where each came from', () => {
    const d = docs('apiVersion: kiln.dev/v1\nkind: Runtime\nmetadata: {name: a}\nspec: {command: [x]}\n---\nkind: List\napiVersion: v1\nitems:\n  - {apiVersion: kiln.dev/v1, kind: Runtime, metadata: {name: b}, spec: {command: [y]}}\n')
    expect(d.map((x) => x.where.replace(dir, ''))).toEqual(['/specs/x.yaml#1', '/specs/x.yaml#2 items[0]'])
  })
  it('a folder without spec files is refused', async () => {
    await mkdir(join(dir, 'empty'), { recursive: true })
    expect(() => readDocs([join(dir, 'empty')], false)).toThrow(/no .yaml, .yml or .json files/)
  })
})

describe('Kiln documents', () => {
  it('a Function\'s code is relative to its file; a Route is an HTTPTrigger', () => {
    const c = convert(docs('apiVersion: kiln.dev/v1\nkind: Function\nmetadata: {name: f}\nspec: {runtime: node, code: ../src}\n---\napiVersion: kiln.dev/v1\nkind: Route\nmetadata: {name: r}\nspec: {method: GET, path: /r, function: f}\n'))
    expect(c.items.map((i) => [i.kind, i.name])).toEqual([['Function', 'f'], ['HTTPTrigger', 'r']])
    expect(c.items[0].code?.label).toBe('../src')
    expect(c.items[0].body.spec).toEqual({ runtime: 'node' })
  })
  it('an unknown kind, a duplicate, and a secret with values are refused, naming the file', () => {
    expect(() => convert(docs('apiVersion: kiln.dev/v1\nkind: Gadget\nmetadata: {name: g}\n'))).toThrow(/x\.yaml: kind "Gadget" is not one Kiln applies/)
    expect(() => convert(docs('apiVersion: kiln.dev/v1\nkind: Runtime\nmetadata: {name: a}\nspec: {}\n---\napiVersion: kiln.dev/v1\nkind: Runtime\nmetadata: {name: a}\nspec: {}\n'))).toThrow(/Runtime a is also declared in/)
    expect(() => convert(docs('apiVersion: kiln.dev/v1\nkind: Secret\nmetadata: {name: s}\ndata: {k: dg==}\n'))).toThrow(/never holds values/)
    expect(() => convert(docs('apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n'))).toThrow(/not a document Kiln applies/)
  })
})

describe('Fission', () => {
  it('published environment images are Kiln\'s built-in runtimes; others are not', () => {
    expect(['fission/node-env', 'ghcr.io/fission/node-env-22:1.0', 'fission/python-env-3.10', 'ghcr.io/fission/python-env@sha256:ab'].map(builtinRuntimeFor)).toEqual(['node', 'node', 'python', 'python'])
    expect(builtinRuntimeFor('fission/go-env-1.23')).toBeUndefined()
    expect(builtinRuntimeFor('example.com/my-node-env')).toBeUndefined()
  })

  it('maps executors, timeouts, scale, env, secrets and routes; a custom image is a fission-protocol runtime', () => {
    const c = convert(docs(`
kind: DeploymentConfig
apiVersion: fission.io/v1
name: app
uid: 1234-abcd
---
kind: ArchiveUploadSpec
name: code
include: ["src/*.go"]
---
apiVersion: fission.io/v1
kind: Environment
metadata: {name: go, namespace: default}
spec: {version: 3, poolsize: 2, runtime: {image: fission/go-env-1.23}}
---
apiVersion: fission.io/v1
kind: Package
metadata: {name: p, namespace: default}
spec: {deployment: {type: url, url: "archive://code"}, environment: {name: go, namespace: default}}
---
apiVersion: fission.io/v1
kind: Function
metadata: {name: f, namespace: team-a}
spec:
  environment: {name: go, namespace: default}
  package: {functionName: Handler, packageref: {name: p, namespace: default}}
  InvokeStrategy: {ExecutionStrategy: {ExecutorType: newdeploy, MinScale: 1, MaxScale: 4}}
  functionTimeout: 30
  onceOnly: true
  env: [{name: A, value: "1"}, {name: B, valueFrom: {secretKeyRef: {name: s, key: k}}}]
  secrets: [{name: s, namespace: team-a}]
  resources: {limits: {cpu: 250m, memory: 64Mi}}
---
apiVersion: fission.io/v1
kind: HTTPTrigger
metadata: {name: t, namespace: team-a}
spec: {relativeurl: "/items/{id}", methods: [GET, POST], functionref: {type: name, name: f}}
---
apiVersion: fission.io/v1
kind: KubernetesWatchTrigger
metadata: {name: w, namespace: default}
spec: {}
`))
    expect(c.setName).toBe('1234-abcd')
    const byName = Object.fromEntries(c.items.map((i) => [`${i.kind}/${i.name}`, i]))
    expect(byName['Runtime/go'].body.spec).toEqual({ protocol: 'fission', fissionVersion: 2, image: 'fission/go-env-1.23', port: 8888, poolSize: 2 })
    const f = byName['Function/f']
    expect(f.namespace).toBe('team-a')
    expect(f.code?.language).toBe('raw')
    expect(f.code?.entrypoint).toBe('Handler')
    expect(f.body.spec).toEqual({
      runtime: 'go', strategy: 'dedicated', minScale: 1, maxScale: 4, timeoutMs: 30_000, reuse: 'fresh',
      env: { A: '1' }, secretEnv: [{ secret: 's', key: 'k', env: 'B' }], secrets: ['s'], resources: { cpu: 0.25, memory: '64Mi' },
    })
    expect(byName['HTTPTrigger/t-get'].body.spec).toEqual({ method: 'GET', path: '/items/:id', function: 'f' })
    expect(byName['HTTPTrigger/t-post'].body.spec).toMatchObject({ method: 'POST' })
    expect(c.notes.some((n) => n.includes('skipped KubernetesWatchTrigger "w"'))).toBe(true)
  })

  it('a container executor, configmaps, and an unknown environment are refused', () => {
    const base = 'apiVersion: fission.io/v1\nkind: Environment\nmetadata: {name: nodejs}\nspec: {runtime: {image: fission/node-env}}\n---\napiVersion: fission.io/v1\nkind: Package\nmetadata: {name: p}\nspec: {deployment: {url: "archive://a"}}\n---\nkind: ArchiveUploadSpec\nname: a\ninclude: [x.js]\n---\n'
    expect(() => convert(docs(`${base}apiVersion: fission.io/v1\nkind: Function\nmetadata: {name: f}\nspec: {environment: {name: nodejs}, package: {packageref: {name: p}}, InvokeStrategy: {ExecutionStrategy: {ExecutorType: container}}}\n`))).toThrow(/executor type container/)
    expect(() => convert(docs(`${base}apiVersion: fission.io/v1\nkind: Function\nmetadata: {name: f}\nspec: {environment: {name: nodejs}, package: {packageref: {name: p}}, configmaps: [{name: c}]}\n`))).toThrow(/configmaps/)
    expect(() => convert(docs(`${base}apiVersion: fission.io/v1\nkind: Function\nmetadata: {name: f}\nspec: {environment: {name: ruby}, package: {packageref: {name: p}}}\n`))).toThrow(/environment "ruby", which the folder does not declare/)
  })
})

describe('OpenFaaS stack files', () => {
  it('templates map to runtimes', () => {
    expect(['node', 'node18', 'node20', 'python3-http', 'python3-http-debian', 'python3-flask', 'python3', 'dockerfile', 'go'].map(runtimeForLang))
      .toEqual(['node', 'node', 'node', 'python', 'python', 'python', 'python', undefined, undefined])
  })
  it('variables, scaling labels, limits and timeouts', () => {
    process.env.KILN_TEST_GREETING = 'hola'
    const c = convert(docs('version: 1.0\nprovider: {name: openfaas}\nfunctions:\n  a:\n    lang: node20\n    handler: ./a\n    environment: {G: "${KILN_TEST_GREETING}", H: "${NOPE:-fallback}", exec_timeout: 1m, max_inflight: 5}\n    labels: {com.openfaas.scale.min: "2", com.openfaas.scale.max: "6"}\n    limits: {memory: 64Mi, cpu: 100m}\n'))
    expect(c.items[0].body.spec).toEqual({
      runtime: 'node', shape: 'openfaas', env: { G: 'hola', H: 'fallback', exec_timeout: '1m', max_inflight: '5' }, timeoutMs: 60_000, concurrency: 5,
      resources: { cpu: 0.1, memory: '64Mi' }, strategy: 'dedicated', minScale: 2, maxScale: 6,
    })
    expect(() => convert(docs('functions:\n  d: {lang: dockerfile, handler: ./d}\n'))).toThrow(/lang "dockerfile"/)
  })
})

describe('apply sets', () => {
  it('are label values', () => {
    expect([setLabel('specs'), setLabel('My App/specs!'), setLabel('--x--'), setLabel('a'.repeat(80)).length]).toEqual(['specs', 'My-App-specs', 'x', 63])
  })
})
