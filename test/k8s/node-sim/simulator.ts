// A node simulator in the manner of kwok, except that pods really run: it registers Node objects,
// keeps them Ready (NodeHeartbeat), and for every pod the real kube-scheduler binds to one of its
// nodes starts the pod's program as a local process on the pod's own loopback address (PodRunner).
// Deleting a pod kills its processes and completes the deletion, as a kubelet does.
//
// The pod loop is level-triggered: list, then watch from the list's resourceVersion, and on every
// event compare the pod with what runs; a lost watch (410 Gone) lists again.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LoopbackAddresses } from './addresses.js'
import { KubeClient, KubeError, type KubeObject } from './kube-client.js'
import { NodeHeartbeat, type SimNode } from './nodes.js'
import { PodRunner, type ImageTable } from './pod-runner.js'
import { startKubeletServer } from './kubelet-server.js'
import { ServiceProxy, type Endpoint } from './services.js'

export interface NodeSimulatorOptions {
  kubeconfigPath: string
  nodes: SimNode[]
  /** container image → argv of the local program, e.g. { 'kiln/runtime-node:dev': ['node', 'dist/runtimes/node.js'] } */
  images: ImageTable
  /** working directory of pod processes (default: process.cwd()) */
  cwd?: string
  /** extra environment for every pod process; PATH and HOME are passed through */
  env?: Record<string, string>
  /** second octet of the pods' 127.x.0.0/16 (default: random) */
  loopbackOctet?: number
  /** keep pod logs here instead of a temp dir that stop() removes */
  logDir?: string
  /** reported Node kubeletVersion */
  kubeletVersion?: string
  log?: (msg: string) => void
  /**
   * Pods live in a cluster: Services with loopback ClusterIPs are served (services.ts), each pod gets
   * /etc/hosts with their DNS names and its ServiceAccount's token (pod-runner.ts; needs root, for the
   * mount namespaces), and the nodes serve their containers' logs to the API server (kubelet-server.ts).
   */
  cluster?: boolean
}

export interface NodeSimulator {
  nodes: SimNode[]
  logDir: string
  /** the runner of a running pod, by namespace/name */
  runner(namespace: string, name: string): PodRunner | undefined
  /** stops the watch and the heartbeat, kills every pod process; Node objects stay */
  stop(): Promise<void>
}

export async function startNodeSimulator(opts: NodeSimulatorOptions): Promise<NodeSimulator> {
  const kube = new KubeClient(opts.kubeconfigPath)
  const log = opts.log ?? (() => {})
  const ownLogDir = !opts.logDir
  const logDir = opts.logDir ?? mkdtempSync(join(tmpdir(), 'kiln-node-sim-'))
  const addresses = new LoopbackAddresses(opts.loopbackOctet)
  const heartbeat = new NodeHeartbeat(kube, opts.nodes, opts.kubeletVersion, err => log(`heartbeat: ${err}`))
  const ours = new Set(opts.nodes.map(n => n.name))
  const runners = new Map<string, PodRunner>() // by pod uid
  const finishing = new Set<string>() // uids whose deletion is being completed
  const abort = new AbortController()
  let services: ServiceProxy | undefined
  let kubelet: { port: number, close(): Promise<void> } | undefined
  const ctx = {
    kube, images: opts.images, cwd: opts.cwd ?? process.cwd(), logDir, log,
    baseEnv: { PATH: process.env.PATH, HOME: process.env.HOME, ...opts.env },
    ...(opts.cluster ? { cluster: { hosts: (ns: string) => services!.hosts(ns), apiServer: new URL(kube.server) } } : {}),
  }

  const forget = async (uid: string, graceMs: number): Promise<void> => {
    const r = runners.get(uid)
    if (!r) return
    runners.delete(uid)
    await r.stop(graceMs)
    addresses.release(uid)
  }

  const sync = (type: string, pod: KubeObject): void => {
    const uid = pod.metadata.uid!
    if (!ours.has(pod.spec?.nodeName)) return
    if (type === 'DELETED') { void forget(uid, 0); return }
    if (pod.metadata.deletionTimestamp) {
      if (finishing.has(uid)) return
      finishing.add(uid)
      const graceMs = 1000 * (pod.metadata.deletionGracePeriodSeconds ?? 30)
      void (async () => {
        await forget(uid, graceMs)
        try {
          await kube.delete(`/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`,
            { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 0, preconditions: { uid } })
        } catch (err) {
          if (!(err instanceof KubeError && (err.status === 404 || err.status === 409))) log(`delete ${pod.metadata.name}: ${err}`)
        }
      })()
      return
    }
    const running = runners.get(uid)
    if (running) { running.update(pod); return }
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return
    const runner = new PodRunner(pod, addresses.allocate(uid), ctx)
    runners.set(uid, runner)
    runner.start()
  }

  const podLoop = async (): Promise<void> => {
    while (!abort.signal.aborted) {
      try {
        const list = await kube.get<{ metadata: { resourceVersion: string }, items: KubeObject[] }>('/api/v1/pods?fieldSelector=spec.nodeName%21%3D')
        const seen = new Set<string>()
        for (const p of list.items) { seen.add(p.metadata.uid!); sync('ADDED', p) }
        // Pods that vanished while no watch was open.
        for (const uid of [...runners.keys()]) if (!seen.has(uid)) void forget(uid, 0)
        let rv = list.metadata.resourceVersion
        while (!abort.signal.aborted) rv = await kube.watchOnce('/api/v1/pods?fieldSelector=spec.nodeName%21%3D', rv, e => sync(e.type, e.object), abort.signal)
      } catch (err) {
        if (abort.signal.aborted) return
        if (!(err instanceof KubeError && err.status === 410)) log(`pod watch: ${err}`)
        await new Promise(r => setTimeout(r, 500))
      }
    }
  }

  if (opts.cluster) {
    /** Ready pods of a namespace matching a selector, at a target port (a number or a container port's name). */
    const endpoints = (namespace: string, selector: Record<string, string>, target: number | string): Endpoint[] => {
      const out: Endpoint[] = []
      for (const r of runners.values()) {
        const port = r.endpoint(namespace, selector, target)
        if (port !== undefined) out.push({ ip: r.ip, port })
      }
      return out
    }
    services = new ServiceProxy(kube, endpoints, (m) => log(m))
    await services.start()
    kubelet = await startKubeletServer({
      container: (ns, pod, container) => {
        for (const r of runners.values()) if (r.key === `${ns}/${pod}`) return r.logOf(container)
        return undefined
      },
    })
    heartbeat.kubeletPort = kubelet.port
  }
  await heartbeat.register()
  const loop = podLoop()
  let stopping: Promise<void> | undefined

  return {
    nodes: opts.nodes,
    logDir,
    runner(namespace, name) {
      for (const r of runners.values()) if (r.key === `${namespace}/${name}`) return r
      return undefined
    },
    stop() {
      stopping ??= (async () => {
        abort.abort()
        heartbeat.stop()
        await loop
        await Promise.all([...runners.keys()].map(uid => forget(uid, 2_000)))
        await services?.stop()
        await kubelet?.close()
        addresses.dispose()
        await kube.close()
        if (ownLogDir) rmSync(logDir, { recursive: true, force: true })
      })()
      return stopping
    },
  }
}
