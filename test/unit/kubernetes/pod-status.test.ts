// What the Kubernetes backend reads from a runtime pod's status (cluster/kubernetes/pod-status.ts):
// readiness, restarts, and the exit an instance reports when its pod ends.
import type { V1ContainerStateTerminated, V1ContainerStatus, V1Pod } from '@kubernetes/client-node'
import { describe, expect, it } from 'vitest'
import { exitOf, isReady, restarts } from '../../../cluster/kubernetes/pod-status.js'

const pod = (status: V1Pod['status'], deleted = false): V1Pod => ({
  metadata: { name: 'p', ...(deleted ? { deletionTimestamp: new Date(0) } : {}) },
  status,
})

describe('pod status', () => {
  it('Ready only with a Ready condition whose status is True', () => {
    expect(isReady(pod({ conditions: [{ type: 'Ready', status: 'True' }] }))).toBe(true)
    expect(isReady(pod({ conditions: [{ type: 'Ready', status: 'False' }, { type: 'PodScheduled', status: 'True' }] }))).toBe(false)
    expect(isReady(pod(undefined))).toBe(false)
  })

  it('restarts add up over the containers', () => {
    const c = (restartCount: number) => ({ name: 'c', image: 'i', imageID: '', ready: true, restartCount })
    expect(restarts(pod({ containerStatuses: [c(2), c(3)] }))).toBe(5)
    expect(restarts(pod({}))).toBe(0)
  })

  it('the exit: a container killed for memory is out of memory; another termination carries its reason and code', () => {
    const term = (terminated: V1ContainerStateTerminated, last = false): V1ContainerStatus => ({ name: 'c', image: 'i', imageID: '', ready: false, restartCount: 0, ...(last ? { lastState: { terminated } } : { state: { terminated } }) })
    expect(exitOf(pod({ containerStatuses: [term({ exitCode: 137, reason: 'OOMKilled' })] }))).toEqual({ code: 137, signal: null, oomKilled: true, reason: 'out of memory' })
    expect(exitOf(pod({ containerStatuses: [term({ exitCode: 1, reason: 'Error', signal: 15 }, true)] }))).toEqual({ code: 1, signal: '15', oomKilled: false, reason: 'Error (exit 1)' })
  })

  it('the exit without a terminated container: deleted, else the phase, else gone', () => {
    expect(exitOf(pod({ phase: 'Running' }, true))).toEqual({ code: null, signal: null, oomKilled: false, reason: 'pod deleted' })
    expect(exitOf(pod({ phase: 'Failed' }))).toMatchObject({ reason: 'pod Failed' })
    expect(exitOf(pod(undefined))).toMatchObject({ reason: 'pod gone' })
  })
})
