// Node objects for simulated nodes, and the heartbeat a kubelet would keep: a Lease in
// kube-node-lease renewed every 10 s (what the node lifecycle controller reads) and a Ready
// condition re-reported every minute. Without it the controller manager taints the node
// not-ready/unreachable and the scheduler stops placing pods on it.
import type { KubeClient } from './kube-client.js'
import { KubeError } from './kube-client.js'

export interface Taint { key: string, value?: string, effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute' }

export interface SimNode {
  name: string
  labels?: Record<string, string>
  taints?: Taint[]
  /** defaults: cpu 4, memory 8Gi, pods 110 */
  capacity?: { cpu?: string, memory?: string, pods?: string }
}

export const ISOLATION_TAINT: Taint = { key: 'kiln.dev/isolated', value: 'true', effect: 'NoSchedule' }
export const ISOLATED_POOL_LABEL = { key: 'kiln.dev/pool', value: 'isolated' } as const

/** A node reserved for noisy functions: labelled kiln.dev/pool=isolated, tainted kiln.dev/isolated=true:NoSchedule. */
export function isolatedNode(name: string, labels: Record<string, string> = {}): SimNode {
  return { name, labels: { ...labels, [ISOLATED_POOL_LABEL.key]: ISOLATED_POOL_LABEL.value }, taints: [ISOLATION_TAINT] }
}

const LEASE_SECONDS = 40
const LEASE_RENEW_MS = 10_000
const STATUS_REPORT_MS = 60_000

/** metav1.MicroTime wants exactly six fractional digits. */
export function microTime(d = new Date()): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z')
}

function nodeObject(n: SimNode) {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: n.name,
      labels: {
        'kubernetes.io/hostname': n.name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kiln.dev/simulated': 'true',
        ...n.labels,
      },
    },
    spec: { taints: n.taints ?? [] },
  }
}

function nodeStatus(n: SimNode, kubeletVersion: string, kubeletPort: number) {
  const now = new Date().toISOString()
  const cap = { cpu: n.capacity?.cpu ?? '4', memory: n.capacity?.memory ?? '8Gi', pods: n.capacity?.pods ?? '110', 'ephemeral-storage': '100Gi' }
  const cond = (type: string, status: string, reason: string, message: string) => ({ type, status, reason, message, lastHeartbeatTime: now, lastTransitionTime: now })
  return {
    status: {
      capacity: cap,
      allocatable: cap,
      conditions: [
        cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kiln node simulator'),
        cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kiln node simulator'),
        cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kiln node simulator'),
        cond('Ready', 'True', 'KubeletReady', 'kiln node simulator runs pods as local processes'),
      ],
      addresses: [{ type: 'InternalIP', address: '127.0.0.1' }, { type: 'Hostname', address: n.name }],
      daemonEndpoints: { kubeletEndpoint: { Port: kubeletPort } },
      nodeInfo: {
        machineID: n.name, systemUUID: n.name, bootID: n.name, kernelVersion: 'kiln-sim', osImage: 'kiln node simulator',
        containerRuntimeVersion: 'kiln-sim://1', kubeletVersion, kubeProxyVersion: '', operatingSystem: 'linux', architecture: 'amd64',
      },
    },
  }
}

/** Registers the nodes and keeps them healthy until stop(). */
export class NodeHeartbeat {
  private timers: NodeJS.Timeout[] = []
  /** Where the API server reaches the nodes' kubelet API (kubelet-server.ts); 0: none. */
  kubeletPort = 0

  constructor(private readonly kube: KubeClient, readonly nodes: SimNode[], private readonly kubeletVersion = 'v1.36.3', private readonly onError: (err: unknown) => void = () => {}) {}

  async register(): Promise<void> {
    for (const n of this.nodes) {
      let uid: string
      try {
        uid = (await this.kube.create('/api/v1/nodes', nodeObject(n))).metadata.uid
      } catch (err) {
        if (!(err instanceof KubeError && err.status === 409)) throw err
        const obj = nodeObject(n)
        uid = (await this.kube.strategicPatch(`/api/v1/nodes/${n.name}`, { metadata: { labels: obj.metadata.labels }, spec: obj.spec })).metadata.uid
      }
      await this.reportStatus(n)
      await this.renewLease(n, uid)
      this.timers.push(setInterval(() => this.renewLease(n, uid).catch(this.onError), LEASE_RENEW_MS))
      this.timers.push(setInterval(() => this.reportStatus(n).catch(this.onError), STATUS_REPORT_MS))
    }
  }

  private async reportStatus(n: SimNode): Promise<void> {
    await this.kube.mergePatch(`/api/v1/nodes/${n.name}/status`, nodeStatus(n, this.kubeletVersion, this.kubeletPort))
  }

  private async renewLease(n: SimNode, nodeUid: string): Promise<void> {
    const path = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${n.name}`
    try {
      await this.kube.mergePatch(path, { spec: { holderIdentity: n.name, leaseDurationSeconds: LEASE_SECONDS, renewTime: microTime() } })
    } catch (err) {
      if (!(err instanceof KubeError && err.status === 404)) throw err
      await this.kube.create('/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: n.name, ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: n.name, uid: nodeUid }] },
        spec: { holderIdentity: n.name, leaseDurationSeconds: LEASE_SECONDS, renewTime: microTime() },
      })
    }
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t)
    this.timers = []
  }
}
