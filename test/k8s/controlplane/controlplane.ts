// A real Kubernetes control plane for tests, the way controller-runtime's envtest runs one: etcd,
// kube-apiserver, and (unlike envtest) kube-controller-manager and kube-scheduler, so Deployments
// create ReplicaSets, ReplicaSets create pods and the real scheduler binds them. No kubelet: nodes
// and the pods bound to them are played by test/k8s/node-sim.
//
// Everything lives in one temp dir (certificates, kubeconfigs, logs; etcd's data in /dev/shm when it
// exists, since etcd 3.4 fsyncs every write). stop() ends every process group and removes the dir.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { request } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { locateBinaries, type Binaries } from './binaries.js'
import { makePki, writeKubeconfig, type Pki } from './certs.js'
import { freePorts, logTail, startProcess, stopProcess, type Managed } from './processes.js'

export interface ControlPlaneOptions {
  /** run kube-controller-manager (default true) */
  controllerManager?: boolean
  /** run kube-scheduler (default true) */
  scheduler?: boolean
  /** extra kube-apiserver flags, e.g. ['--feature-gates=...'] */
  apiserverFlags?: string[]
  /** binaries; default: the cache that build.sh fills, etcd/kubectl/openssl from PATH */
  binaries?: Binaries
  /** how long to wait for every component to be healthy (default 90 s) */
  readyTimeoutMs?: number
  /** keep the temp dir (logs, certificates) after stop(), for debugging (default: $KILN_K8S_KEEP=1) */
  keepDir?: boolean
  /**
   * --service-cluster-ip-range (default 10.0.0.0/24). A loopback range (e.g. 127.42.255.0/24) gives
   * Services ClusterIPs the node simulator can listen on (its `cluster` mode: Services work).
   */
  serviceCidr?: string
}

export interface ControlPlane {
  /** admin kubeconfig (O=system:masters) */
  kubeconfigPath: string
  /** https://127.0.0.1:<port> */
  server: string
  dir: string
  pki: Pki
  binaries: Binaries
  /** component name → log file */
  logs: Record<string, string>
  stop(): Promise<void>
}

const SERVICE_CIDR = '10.0.0.0/24'

/** The first address of an IPv4 range: the `kubernetes` Service's ClusterIP, in the apiserver's certificate. */
function firstAddress(cidr: string): string {
  const [ip] = cidr.split('/')
  const o = ip!.split('.').map(Number)
  o[3] = o[3]! + 1
  return o.join('.')
}

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  let binaries = opts.binaries
  if (!binaries) {
    const found = locateBinaries()
    if (!found.ok) throw new Error(found.reason)
    binaries = found.binaries
  }
  const serviceCidr = opts.serviceCidr ?? SERVICE_CIDR
  const dir = mkdtempSync(join(tmpdir(), 'kiln-k8s-'))
  const shm = existsSync('/dev/shm') ? mkdtempSync('/dev/shm/kiln-etcd-') : join(dir, 'etcd-data')
  const procs: Managed[] = []
  let stopped = false

  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    // Reverse start order: clients of the apiserver first, etcd last.
    for (const p of [...procs].reverse()) await stopProcess(p)
    rmSync(shm, { recursive: true, force: true })
    if (opts.keepDir ?? process.env.KILN_K8S_KEEP === '1') process.stderr.write(`kiln-k8s: control plane logs kept in ${dir}\n`)
    else rmSync(dir, { recursive: true, force: true })
  }

  try {
    const [etcdClient, etcdPeer, apiPort, cmPort, schedPort] = await freePorts(5)
    const server = `https://127.0.0.1:${apiPort}`
    const pki = makePki(binaries.openssl, dir, {
      admin: { user: 'kiln-admin', groups: ['system:masters'] },
      controllerManager: { user: 'system:kube-controller-manager' },
      scheduler: { user: 'system:kube-scheduler' },
    }, firstAddress(serviceCidr))
    const kubeconfigPath = join(dir, 'admin.kubeconfig')
    writeKubeconfig(kubeconfigPath, server, pki.ca.cert, pki.clients.admin!, 'kiln-admin')
    const cmKubeconfig = join(dir, 'controller-manager.kubeconfig')
    writeKubeconfig(cmKubeconfig, server, pki.ca.cert, pki.clients.controllerManager!, 'system:kube-controller-manager')
    const schedKubeconfig = join(dir, 'scheduler.kubeconfig')
    writeKubeconfig(schedKubeconfig, server, pki.ca.cert, pki.clients.scheduler!, 'system:kube-scheduler')
    const logs: Record<string, string> = {}
    const deadline = Date.now() + (opts.readyTimeoutMs ?? 90_000)

    const launch = (name: string, cmd: string, args: string[]): Managed => {
      logs[name] = join(dir, `${name}.log`)
      const p = startProcess(name, cmd, args, logs[name]!)
      procs.push(p)
      return p
    }

    const etcd = launch('etcd', binaries.etcd, [
      '--name=kiln-test',
      `--data-dir=${shm}`,
      `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=kiln-test=http://127.0.0.1:${etcdPeer}`,
      '--initial-cluster-state=new',
      '--logger=zap',
      '--log-outputs=stderr',
    ])
    await waitFor(etcd, deadline, () => httpGetOk(`http://127.0.0.1:${etcdClient}/health`))

    const apiserver = launch('kube-apiserver', binaries.kubeApiserver, [
      `--etcd-servers=http://127.0.0.1:${etcdClient}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${join(dir, 'apiserver-certs')}`,
      `--tls-cert-file=${pki.apiserver.cert}`,
      `--tls-private-key-file=${pki.apiserver.key}`,
      `--client-ca-file=${pki.ca.cert}`,
      // Delegated authentication in the controller manager and scheduler reads this; without it they log errors every second.
      `--requestheader-client-ca-file=${pki.ca.cert}`,
      '--requestheader-allowed-names=front-proxy-client',
      '--requestheader-username-headers=X-Remote-User',
      '--requestheader-group-headers=X-Remote-Group',
      '--requestheader-extra-headers-prefix=X-Remote-Extra-',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.serviceAccount.pub}`,
      `--service-account-signing-key-file=${pki.serviceAccount.key}`,
      `--service-cluster-ip-range=${serviceCidr}`,
      '--authorization-mode=Node,RBAC',
      '--allow-privileged=true',
      // 127.0.0.1 may not be an Endpoints address, so the "kubernetes" Service keeps no endpoints.
      '--endpoint-reconciler-type=none',
      '--profiling=false',
      ...(opts.apiserverFlags ?? []),
    ])
    const admin = { ca: readFileSync(pki.ca.cert), cert: readFileSync(pki.clients.admin!.cert), key: readFileSync(pki.clients.admin!.key) }
    await waitFor(apiserver, deadline, () => httpsGetOk(`${server}/readyz`, admin))

    const waits: Promise<void>[] = []
    if (opts.controllerManager !== false) {
      const cm = launch('kube-controller-manager', binaries.kubeControllerManager, [
        `--kubeconfig=${cmKubeconfig}`,
        `--authentication-kubeconfig=${cmKubeconfig}`,
        `--authorization-kubeconfig=${cmKubeconfig}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${cmPort}`,
        `--cert-dir=${join(dir, 'controller-manager-certs')}`,
        '--leader-elect=false',
        '--use-service-account-credentials=true',
        `--service-account-private-key-file=${pki.serviceAccount.key}`,
        `--root-ca-file=${pki.ca.cert}`,
        `--cluster-signing-cert-file=${pki.ca.cert}`,
        `--cluster-signing-key-file=${pki.ca.key}`,
        `--service-cluster-ip-range=${serviceCidr}`,
      ])
      waits.push(waitFor(cm, deadline, () => httpsGetOk(`https://127.0.0.1:${cmPort}/healthz`, { insecure: true })))
    }
    if (opts.scheduler !== false) {
      const sched = launch('kube-scheduler', binaries.kubeScheduler, [
        `--kubeconfig=${schedKubeconfig}`,
        `--authentication-kubeconfig=${schedKubeconfig}`,
        `--authorization-kubeconfig=${schedKubeconfig}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${schedPort}`,
        `--cert-dir=${join(dir, 'scheduler-certs')}`,
        '--leader-elect=false',
      ])
      waits.push(waitFor(sched, deadline, () => httpsGetOk(`https://127.0.0.1:${schedPort}/healthz`, { insecure: true })))
    }
    await Promise.all(waits)
    return { kubeconfigPath, server, dir, pki, binaries, logs, stop }
  } catch (err) {
    await stop()
    throw err
  }
}

/** Polls `check` until it is true; fails at once, with the log tail, if the process exits. */
async function waitFor(p: Managed, deadline: number, check: () => Promise<boolean>): Promise<void> {
  for (;;) {
    const code = p.exitCode()
    if (code !== undefined) throw new Error(`${p.name} exited with ${code}:\n${logTail(p)}`)
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`${p.name} not healthy in time:\n${logTail(p)}`)
    await new Promise(r => setTimeout(r, 150))
  }
}

function httpGetOk(url: string): Promise<boolean> {
  return fetch(url, { signal: AbortSignal.timeout(2000) }).then(r => r.ok, () => false)
}

function httpsGetOk(url: string, tls: { ca?: Buffer, cert?: Buffer, key?: Buffer, insecure?: boolean }): Promise<boolean> {
  return new Promise(resolve => {
    const req = request(url, {
      ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: !tls.insecure, timeout: 2000,
    }, res => { res.resume(); resolve(res.statusCode === 200) })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(false))
    req.end()
  })
}

