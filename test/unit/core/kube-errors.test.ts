// How a refusal from the Kubernetes API server reads in Kiln's catalogue (core/store/crd-store.ts): an
// RBAC 403 is KILN_ERR_CLUSTER_FORBIDDEN naming who lacks which permission, parsed from the Status the
// API server sends (the same text test/k8s gets from a real kube-apiserver, where it is asserted too).
import { ApiException } from '@kubernetes/client-node'
import { describe, expect, it } from 'vitest'
import { kubeError, missingPermission } from '../../../core/store/crd-store.js'

const status = (code: number, reason: string, message: string) =>
  new ApiException(code, `HTTP-Code: ${code}`, JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code }), {})

describe('Kubernetes API errors in the catalogue', () => {
  it('a 403 on a namespaced custom resource names the user, verb, resource, group and namespace', () => {
    const e = kubeError(status(403, 'Forbidden', 'functions.kiln.dev "hello" is forbidden: User "system:serviceaccount:kiln:kiln-executor" cannot delete resource "functions" in API group "kiln.dev" in the namespace "kiln"'), 'Function "hello"')
    expect(e.toJSON()).toMatchObject({
      error: 'KILN_ERR_CLUSTER_FORBIDDEN', kubeStatus: 403,
      message: 'Function "hello": system:serviceaccount:kiln:kiln-executor may not delete functions.kiln.dev in namespace kiln',
      permission: { user: 'system:serviceaccount:kiln:kiln-executor', verb: 'delete', resource: 'functions', group: 'kiln.dev', namespace: 'kiln' },
    })
    expect(e.status).toBe(403)
  })

  it('a subresource of the core group, and a cluster-scoped resource', () => {
    expect(missingPermission('pods "p" is forbidden: User "system:serviceaccount:kiln:kiln-executor" cannot patch resource "pods/resize" in API group "" in the namespace "kiln"'))
      .toEqual({ user: 'system:serviceaccount:kiln:kiln-executor', verb: 'patch', resource: 'pods/resize', group: '', namespace: 'kiln' })
    const nodes = kubeError(status(403, 'Forbidden', 'nodes is forbidden: User "system:serviceaccount:kiln:kiln-controller" cannot list resource "nodes" in API group "" at the cluster scope'), 'nodes')
    expect(nodes.message).toBe('nodes: system:serviceaccount:kiln:kiln-controller may not list nodes (cluster-wide)')
  })

  it('a 403 whose message names no permission is still KILN_ERR_CLUSTER_FORBIDDEN, with the server\'s words', () => {
    const e = kubeError(status(403, 'Forbidden', 'admission webhook "x" denied the request'), 'Runtime "r"')
    expect([e.code, e.message]).toEqual(['KILN_ERR_CLUSTER_FORBIDDEN', 'Runtime "r": the Kubernetes API refused (403): admission webhook "x" denied the request'])
  })

  it('the other answers keep their codes', () => {
    expect(kubeError(status(409, 'AlreadyExists', 'exists'), 'x').code).toBe('KILN_ERR_ALREADY_EXISTS')
    expect(kubeError(status(422, 'Invalid', 'bad'), 'x').code).toBe('KILN_ERR_VALIDATION')
    expect(kubeError(status(404, 'NotFound', 'gone'), 'x').code).toBe('KILN_ERR_NOT_FOUND')
    expect(kubeError(status(500, 'InternalError', 'etcd'), 'x').toJSON()).toMatchObject({ error: 'KILN_ERR_INTERNAL', kubeStatus: 500 })
  })
})
