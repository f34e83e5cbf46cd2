// One simulated pod: each container's image is looked up in the simulator's image table and run as a
// local process (its own process group) bound to the pod's loopback address; readiness is probed the
// way the pod says (readinessProbe httpGet or tcpSocket, else a TCP connect to its first port), and
// the pod's status is reported as a kubelet would: Running with podIP once started, Ready once
// every container's probe answers. Containers restart per restartPolicy; stop() kills them.
// Acting as a kubelet with in-place resize, it reports each container's resources as applied
// (containerStatuses[].resources; the API server refuses a resize of a pod whose running containers
// report none) and takes a resize of the spec (`pods/resize`) as done at once: there are no cgroups.
import { spawn, type ChildProcess } from 'node:child_process'
import { appendFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { connect } from 'node:net'
import { join } from 'node:path'
import { KubeError, type KubeClient, type KubeObject } from './kube-client.js'

/** image → argv; the container's args are appended. */
export type ImageTable = Record<string, string[]>

export interface RunnerContext {
  kube: KubeClient
  images: ImageTable
  cwd: string
  /** environment every pod process gets before its container env (PATH, HOME, ...) */
  baseEnv: NodeJS.ProcessEnv
  logDir: string
  log: (msg: string) => void
  /**
   * A cluster for the pods to live in (startNodeSimulator's `cluster`): each pod's processes run in a
   * mount namespace of their own (unshare) where /etc/hosts holds the Services' DNS names, and, unless
   * the pod opts out, its ServiceAccount's token, the cluster CA and its namespace are at
   * /var/run/secrets/kubernetes.io/serviceaccount with KUBERNETES_SERVICE_HOST/PORT pointing at the API
   * server — what a kubelet's projected volume and cluster DNS give a pod.
   */
  cluster?: { hosts(namespace: string): string, apiServer: URL }
}

interface ContainerRun {
  spec: any
  proc?: ChildProcess
  argv?: string[]
  startedAt?: string
  ready: boolean
  restartCount: number
  state: Record<string, unknown>
  lastState: Record<string, unknown>
  probeTimer?: NodeJS.Timeout
  probeFailures: number
  /** The resources "applied" to the container: the spec's, as of the last pod update seen. */
  resources: Record<string, unknown>
}

const livePids = new Set<number>()

/** RFC 3339 with nanoseconds, as CRI log lines carry it. */
function nanoTime(): string {
  return new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z')
}
let hooked = false
function hookExit(): void {
  if (hooked) return
  hooked = true
  process.once('exit', () => { for (const pid of livePids) { try { process.kill(-pid, 'SIGKILL') } catch { /* gone */ } } })
}

export class PodRunner {
  readonly key: string
  private readonly containers: ContainerRun[]
  private stopping = false
  private reporting: Promise<void> = Promise.resolve()
  private reportQueued = false
  private readonly startTime = new Date().toISOString()
  private generation: number | undefined
  /** env values from Secrets and ConfigMaps (secretKeyRef, configMapKeyRef), read before the containers start */
  private readonly refs = new Map<string, string>()
  /** this pod's files (hosts, ServiceAccount token) when it lives in a cluster */
  private dir: string | undefined
  private serviceAccount = false

  constructor(private readonly pod: KubeObject, readonly ip: string, private readonly ctx: RunnerContext) {
    this.key = `${pod.metadata.namespace}/${pod.metadata.name}`
    this.generation = pod.metadata.generation as number | undefined
    this.containers = (pod.spec.containers as any[]).map(spec => ({
      spec, ready: false, restartCount: 0, probeFailures: 0, resources: spec.resources ?? {},
      state: { waiting: { reason: 'ContainerCreating' } }, lastState: {},
    }))
  }

  get uid(): string { return this.pod.metadata.uid! }

  /**
   * The port this pod serves `target` on when it is in `namespace`, carries every label of `selector`
   * and is Ready; undefined otherwise (services.ts).
   */
  endpoint(namespace: string, selector: Record<string, string>, target: number | string): number | undefined {
    if (this.stopping || this.pod.metadata.namespace !== namespace || !this.containers.every((c) => c.ready)) return undefined
    const labels = this.labels
    for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) return undefined
    if (typeof target === 'number') return target
    for (const c of this.containers) {
      const p = (c.spec.ports ?? []).find((x: any) => x.name === target)
      if (p) return p.containerPort
    }
    return Number.isInteger(Number(target)) ? Number(target) : undefined
  }

  /** The pod's labels as last seen (a claimed runtime pod is relabelled while it runs). */
  private get labels(): Record<string, string> { return this.latestLabels ?? this.pod.metadata.labels ?? {} }
  private latestLabels: Record<string, string> | undefined

  /**
   * A newer version of the pod. A kubelet would resize the containers' cgroups to a changed spec;
   * the simulator has none, so it only reports the new resources applied (no PodResizePending or
   * PodResizeInProgress condition) and the generation it has seen.
   */
  update(pod: KubeObject): void {
    this.latestLabels = pod.metadata.labels ?? {}
    let changed = false
    for (const c of this.containers) {
      const now = (pod.spec.containers as any[]).find(s => s.name === c.spec.name)?.resources ?? {}
      if (JSON.stringify(now) !== JSON.stringify(c.resources)) { c.resources = now; changed = true }
    }
    const generation = (pod.metadata as { generation?: number }).generation
    if (generation !== this.generation) { this.generation = generation; changed = true }
    if (changed) this.report()
  }

  start(): void {
    hookExit()
    void this.prepare().then(() => {
      for (const c of this.containers) this.startContainer(c)
      this.report()
    }, (err) => {
      this.ctx.log(`${this.key}: not started: ${err}`)
      for (const c of this.containers) c.state = { waiting: { reason: 'CreateContainerConfigError', message: String(err) } }
      this.report()
    })
  }

  /** The log file of a container (CRI format), and whether its process runs (kubelet-server.ts). */
  logOf(container: string): { file: string, running(): boolean } | undefined {
    const c = this.containers.find((x) => x.spec.name === container)
    return c ? { file: this.logPath(c), running: () => !!c.proc && c.proc.exitCode === null && c.proc.signalCode === null } : undefined
  }

  private logPath(c: ContainerRun): string {
    return join(this.ctx.logDir, `${this.pod.metadata.namespace}_${this.pod.metadata.name}_${c.spec.name}.log`)
  }

  /** What a kubelet does before it starts containers: env from Secrets and ConfigMaps, the pod's volume files. */
  private async prepare(): Promise<void> {
    const ns = this.pod.metadata.namespace!
    for (const c of this.containers) {
      for (const e of (c.spec.env ?? []) as any[]) {
        const ref = e.valueFrom?.secretKeyRef ?? e.valueFrom?.configMapKeyRef
        if (!ref) continue
        const kind = e.valueFrom.secretKeyRef ? 'secrets' : 'configmaps'
        try {
          const obj = await this.ctx.kube.get(`/api/v1/namespaces/${ns}/${kind}/${ref.name}`)
          const v = kind === 'secrets' ? (obj.data?.[ref.key] !== undefined ? Buffer.from(obj.data[ref.key], 'base64').toString('utf8') : undefined) : obj.data?.[ref.key]
          if (v === undefined && !ref.optional) throw new Error(`${kind} ${ref.name} has no key ${ref.key}`)
          if (v !== undefined) this.refs.set(`${c.spec.name}/${e.name}`, v)
        } catch (err) {
          if (!ref.optional) throw err
        }
      }
    }
    if (!this.ctx.cluster) return
    this.dir = join(this.ctx.logDir, 'pods', this.uid)
    mkdirSync(this.dir, { recursive: true })
    writeFileSync(join(this.dir, 'hosts'), this.ctx.cluster.hosts(ns))
    const saName = this.pod.spec.serviceAccountName ?? 'default'
    let automount = this.pod.spec.automountServiceAccountToken
    if (automount === undefined) automount = (await this.ctx.kube.get(`/api/v1/namespaces/${ns}/serviceaccounts/${saName}`).catch(() => ({})))?.automountServiceAccountToken ?? true
    if (!automount) return
    // A token bound to this pod, as the kubelet's projected volume holds it (valid 2 h: longer than any test).
    const tr = await this.ctx.kube.create(`/api/v1/namespaces/${ns}/serviceaccounts/${saName}/token`, {
      apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest',
      spec: { expirationSeconds: 7200, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: this.pod.metadata.name, uid: this.uid } },
    })
    const sa = join(this.dir, 'serviceaccount')
    mkdirSync(sa, { recursive: true })
    writeFileSync(join(sa, 'token'), tr.status.token)
    writeFileSync(join(sa, 'ca.crt'), this.ctx.kube.caPem ?? '')
    writeFileSync(join(sa, 'namespace'), ns)
    this.serviceAccount = true
  }

  /**
   * The container's program, in a mount namespace of its own when the pod lives in a cluster: its
   * /etc/hosts and ServiceAccount files bound over the host's (the host's stay as they are).
   */
  private wrap(argv: string[]): string[] {
    if (!this.dir) return argv
    const script = [
      'set -e',
      'mount --bind "$1" /etc/hosts',
      ...(this.serviceAccount ? ['mkdir -p /run/secrets/kubernetes.io/serviceaccount', 'mount --bind "$2" /run/secrets/kubernetes.io/serviceaccount'] : []),
      'shift 2',
      'exec "$@"',
    ].join('\n')
    // emptyDir volumes at paths the host has (/tmp): a directory of the pod's own there, as a kubelet gives it.
    // The pods' programs live in the checkout (the images map to it): when it lies under such a path (a
    // checkout in /tmp), it is bound back from the shell's working directory, which still holds it (--no-canonicalize: mount would resolve `.` to the covered path).
    const emptyDirs = new Set(((this.pod.spec.volumes ?? []) as any[]).filter((v) => v.emptyDir).map((v) => v.name))
    const repo = this.ctx.cwd
    const binds: string[] = []
    for (const c of this.containers) {
      for (const m of (c.spec.volumeMounts ?? []) as any[]) {
        if (!emptyDirs.has(m.name) || !existsSync(m.mountPath)) continue
        const src = join(this.dir, 'volumes', m.name)
        mkdirSync(src, { recursive: true, mode: 0o1777 })
        const covered = repo === m.mountPath || repo.startsWith(m.mountPath.endsWith('/') ? m.mountPath : `${m.mountPath}/`)
        if (covered) binds.push(`cd '${repo}'`, `mount --bind '${src}' '${m.mountPath}'`, `mkdir -p '${repo}'`, `mount --no-canonicalize --bind . '${repo}'`, `cd '${repo}'`)
        else binds.push(`mount --bind '${src}' '${m.mountPath}'`)
      }
    }
    const full = script.replace('shift 2', [...binds, 'shift 2'].join('\n'))
    return ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', full, 'pod', join(this.dir, 'hosts'), join(this.dir, 'serviceaccount'), ...argv]
  }

  /**
   * TERM every container's process group, KILL after graceMs; resolves when all have exited. No grace (a
   * pod deleted with --grace-period=0 --force, or already gone from the API) is a KILL at once: a TERM
   * first would let the process start its graceful stop before the KILL lands, which under load it may
   * get far into (a killed executor deleting its Lease and pods as if it had been stopped).
   */
  async stop(graceMs = 5_000): Promise<void> {
    this.stopping = true
    await Promise.all(this.containers.map(async c => {
      clearTimeout(c.probeTimer)
      const proc = c.proc
      if (!proc?.pid || proc.exitCode !== null || proc.signalCode !== null) return
      const pid = proc.pid
      const exited = new Promise(r => proc.once('exit', r))
      try { process.kill(-pid, graceMs > 0 ? 'SIGTERM' : 'SIGKILL') } catch { /* gone */ }
      const t = setTimeout(() => { try { process.kill(-pid, 'SIGKILL') } catch { /* gone */ } }, graceMs)
      await exited
      clearTimeout(t)
      try { process.kill(-pid, 'SIGKILL') } catch { /* group already gone */ }
    }))
    await this.reporting
    if (this.dir) rmSync(this.dir, { recursive: true, force: true })
  }

  private startContainer(c: ContainerRun): void {
    if (this.stopping) return
    const image: string = c.spec.image
    const base = this.ctx.images[image]
    if (!base || base.length === 0) {
      c.state = { waiting: { reason: 'ErrImagePull', message: `image ${image} is not in the node simulator's image table` } }
      return
    }
    c.argv = [...base, ...(c.spec.args ?? [])]
    const logPath = this.logPath(c)
    const argv = this.wrap(c.argv)
    const proc: ChildProcess = spawn(argv[0]!, argv.slice(1), { cwd: this.ctx.cwd, env: this.envFor(c), detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    // Each line as the kubelet's CRI log file has it: time, stream, full-line tag, text.
    for (const stream of ['stdout', 'stderr'] as const) {
      let rest = ''
      proc[stream]!.on('data', (chunk: Buffer) => {
        const lines = (rest + chunk.toString('utf8')).split('\n')
        rest = lines.pop()!
        if (lines.length) appendFileSync(logPath, lines.map((l) => `${nanoTime()} ${stream} F ${l}\n`).join(''))
      })
      proc[stream]!.on('end', () => { if (rest) appendFileSync(logPath, `${nanoTime()} ${stream} F ${rest}\n`); rest = '' })
    }
    c.proc = proc
    c.startedAt = new Date().toISOString()
    c.state = { running: { startedAt: c.startedAt } }
    c.ready = false
    c.probeFailures = 0
    if (proc.pid) livePids.add(proc.pid)
    proc.on('error', err => this.ctx.log(`${this.key}/${c.spec.name}: spawn ${c.argv![0]}: ${err.message}`))
    proc.on('exit', (code, signal) => {
      if (proc.pid) livePids.delete(proc.pid)
      clearTimeout(c.probeTimer)
      c.ready = false
      c.lastState = {}
      c.state = { terminated: { exitCode: code ?? 137, signal: signal ? 9 : undefined, reason: code === 0 ? 'Completed' : 'Error', startedAt: c.startedAt, finishedAt: new Date().toISOString() } }
      if (this.stopping) return
      this.ctx.log(`${this.key}/${c.spec.name} exited ${code ?? signal}; log: ${logPath}`)
      const policy = this.pod.spec.restartPolicy ?? 'Always'
      if (policy === 'Always' || (policy === 'OnFailure' && code !== 0)) {
        c.lastState = c.state
        c.restartCount++
        c.state = { waiting: { reason: 'CrashLoopBackOff', message: `back-off restarting ${c.spec.name}` } }
        setTimeout(() => { this.startContainer(c); this.report() }, Math.min(10_000, 500 * 2 ** Math.min(c.restartCount, 5)))
      }
      this.report()
    })
    this.scheduleProbe(c, 1000 * (c.spec.readinessProbe?.initialDelaySeconds ?? 0))
  }

  private envFor(c: ContainerRun): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...this.ctx.baseEnv }
    const firstPort = c.spec.ports?.[0]?.containerPort
    if (firstPort) env.PORT = String(firstPort)
    env.HOST = this.ip
    const field = (path: string): string | undefined => {
      const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path)
      if (m) return (this.pod.metadata as any)[m[1]!]?.[m[2]!]
      switch (path) {
        case 'metadata.name': return this.pod.metadata.name
        case 'metadata.namespace': return this.pod.metadata.namespace
        case 'metadata.uid': return this.pod.metadata.uid
        case 'spec.nodeName': return this.pod.spec.nodeName
        case 'spec.serviceAccountName': return this.pod.spec.serviceAccountName
        case 'status.podIP': return this.ip
        case 'status.hostIP': return '127.0.0.1'
        default: return undefined
      }
    }
    for (const e of (c.spec.env ?? []) as any[]) {
      if (e.value !== undefined) env[e.name] = e.value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (_: string, v: string) => env[v] ?? `$(${v})`)
      else if (e.valueFrom?.fieldRef) { const v = field(e.valueFrom.fieldRef.fieldPath); if (v !== undefined) env[e.name] = v }
      else if (this.refs.has(`${c.spec.name}/${e.name}`)) env[e.name] = this.refs.get(`${c.spec.name}/${e.name}`)
      else if (!e.valueFrom?.secretKeyRef && !e.valueFrom?.configMapKeyRef) this.ctx.log(`${this.key}/${c.spec.name}: env ${e.name}: only value, fieldRef, secretKeyRef and configMapKeyRef are simulated`)
    }
    if (this.serviceAccount && this.ctx.cluster) {
      // The API server itself: no kube-proxy here for the `kubernetes` Service.
      env.KUBERNETES_SERVICE_HOST = this.ctx.cluster.apiServer.hostname
      env.KUBERNETES_SERVICE_PORT = this.ctx.cluster.apiServer.port || '443'
    }
    return env
  }

  // --- readiness -------------------------------------------------------------------------------

  private scheduleProbe(c: ContainerRun, delayMs: number): void {
    clearTimeout(c.probeTimer)
    c.probeTimer = setTimeout(() => { this.probeOnce(c).catch(err => this.ctx.log(`${this.key}: probe: ${err}`)) }, delayMs)
  }

  private async probeOnce(c: ContainerRun): Promise<void> {
    if (this.stopping || !c.state.running) return
    const probe = c.spec.readinessProbe ?? {}
    const ok = await this.check(c, probe)
    if (this.stopping || !c.state.running) return
    const threshold = probe.failureThreshold ?? 3
    if (ok) c.probeFailures = 0
    else c.probeFailures++
    const wasReady = c.ready
    if (ok && !c.ready) c.ready = true
    if (!ok && c.ready && c.probeFailures >= threshold) c.ready = false
    if (c.ready !== wasReady) this.report()
    // Until first ready, probe quickly so tests do not wait a period; then at the pod's own period.
    this.scheduleProbe(c, c.ready ? 1000 * Math.max(1, probe.periodSeconds ?? 10) : 100)
  }

  private resolvePort(c: ContainerRun, port: number | string | undefined): number | undefined {
    if (typeof port === 'number') return port
    if (typeof port === 'string') {
      const named = (c.spec.ports ?? []).find((p: any) => p.name === port)?.containerPort
      return named ?? (Number.isInteger(Number(port)) ? Number(port) : undefined)
    }
    return c.spec.ports?.[0]?.containerPort
  }

  private check(c: ContainerRun, probe: any): Promise<boolean> {
    const timeoutMs = 1000 * (probe.timeoutSeconds ?? 1)
    if (probe.httpGet) {
      const port = this.resolvePort(c, probe.httpGet.port)
      if (!port) return Promise.resolve(false)
      return new Promise(resolve => {
        const req = request({ host: probe.httpGet.host ?? this.ip, port, path: probe.httpGet.path ?? '/', method: 'GET', timeout: timeoutMs }, res => {
          res.resume()
          resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400)
        })
        req.on('timeout', () => req.destroy())
        req.on('error', () => resolve(false))
        req.end()
      })
    }
    if (probe.exec) return Promise.resolve(true) // not simulated: a started container counts as ready
    const port = this.resolvePort(c, probe.tcpSocket?.port)
    if (!port) return Promise.resolve(true) // no probe and no port: ready once started, as a kubelet does
    return new Promise(resolve => {
      const s = connect({ host: this.ip, port, timeout: timeoutMs })
      s.once('connect', () => { s.destroy(); resolve(true) })
      s.once('timeout', () => { s.destroy(); resolve(false) })
      s.once('error', () => resolve(false))
    })
  }

  // --- status ----------------------------------------------------------------------------------

  /** Coalesces reports: at most one patch in flight and one queued, always with the latest state. */
  report(): void {
    if (this.reportQueued) return
    this.reportQueued = true
    this.reporting = this.reporting.then(async () => {
      this.reportQueued = false
      try {
        await this.ctx.kube.mergePatch(`/api/v1/namespaces/${this.pod.metadata.namespace}/pods/${this.pod.metadata.name}/status`, { status: this.status() })
      } catch (err) {
        if (!(err instanceof KubeError && (err.status === 404 || err.status === 409))) this.ctx.log(`${this.key}: status: ${err}`)
      }
    })
  }

  private status(): Record<string, unknown> {
    const now = new Date().toISOString()
    const allReady = this.containers.every(c => c.ready)
    const started = this.containers.some(c => c.proc)
    const terminated = this.containers.every(c => c.state.terminated)
    const policy = this.pod.spec.restartPolicy ?? 'Always'
    let phase = started ? 'Running' : 'Pending'
    if (terminated && policy !== 'Always') {
      phase = this.containers.every(c => (c.state.terminated as any).exitCode === 0) ? 'Succeeded' : 'Failed'
    }
    const cond = (type: string, ok: boolean) => ({ type, status: ok ? 'True' : 'False', lastTransitionTime: now, lastProbeTime: null })
    return {
      phase,
      ...(this.generation !== undefined ? { observedGeneration: this.generation } : {}),
      hostIP: '127.0.0.1',
      hostIPs: [{ ip: '127.0.0.1' }],
      podIP: started ? this.ip : undefined,
      podIPs: started ? [{ ip: this.ip }] : undefined,
      startTime: this.startTime,
      conditions: [
        cond('PodReadyToStartContainers', true),
        cond('Initialized', true),
        cond('ContainersReady', allReady),
        cond('Ready', allReady),
        cond('PodScheduled', true),
      ],
      containerStatuses: this.containers.map(c => ({
        name: c.spec.name,
        image: c.spec.image,
        imageID: `kiln-sim://${c.spec.image}`,
        containerID: c.proc?.pid ? `kiln-sim://${c.proc.pid}` : undefined,
        ready: c.ready,
        started: !!c.state.running,
        restartCount: c.restartCount,
        state: c.state,
        lastState: c.lastState,
        ...(c.state.running ? { resources: c.resources, allocatedResources: (c.resources as any).requests } : {}),
      })),
    }
  }
}
