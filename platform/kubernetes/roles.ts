// The Kubernetes components as `kiln <component>` starts them (deploy/*): the platform roles
// (`controller`, `executor`, `all-in-one`: platform.ts), the stateless router tier and the node agent.
// Each loads only what it runs: the router tier never loads the Kubernetes client.
import { hostname } from 'node:os'
import type { KilnConfig } from '../../core/config.js'
import { KilnError } from '../../core/errors.js'
import { parseDuration } from '../../core/quantity.js'
import type { Role } from './platform.js'

export type { Role } from './platform.js'

export interface RoleFlags {
  kubeconfig?: string
  namespace?: string
  executorUrl?: string
  controllerUrl?: string
  leaderLease?: string
}

export interface Running { close(): Promise<void> }

const env = process.env

/** The namespace Kiln lives in: the flag, else $KILN_NAMESPACE, else "kiln". */
export function kilnNamespace(flag?: string): string {
  return flag ?? env.KILN_NAMESPACE ?? 'kiln'
}

/** KILN_LEASE_DURATION (`15s`): the executors' leader and member Leases, in whole seconds. */
function leaseSeconds(): number | undefined {
  if (!env.KILN_LEASE_DURATION) return undefined
  const ms = parseDuration(env.KILN_LEASE_DURATION)
  if (!(ms >= 2000)) throw new KilnError('KILN_ERR_VALIDATION', `KILN_LEASE_DURATION: "${env.KILN_LEASE_DURATION}" must be a duration of at least 2s`)
  return Math.round(ms / 1000)
}

export async function startPlatformRole(role: Role, config: KilnConfig, f: RoleFlags): Promise<Running> {
  const { startKubernetesPlatform } = await import('./platform.js')
  const leaderLease = f.leaderLease ?? (env.KILN_LEADER_ELECTION === 'true' ? env.KILN_LEADER_ELECTION_LEASE ?? 'kiln-executor' : undefined)
  const { parseRuntimes } = await import('./builtin-runtimes.js')
  const { parseRuntimePodTemplate } = await import('./runtime-pod-settings.js')
  // The pod's own address (fieldRef status.podIP): where the other replicas and the routers reach it.
  const advertiseUrl = env.KILN_POD_IP ? `http://${env.KILN_POD_IP.includes(':') ? `[${env.KILN_POD_IP}]` : env.KILN_POD_IP}:${config.port}` : undefined
  const webhookPort = env.KILN_WEBHOOK_PORT ? Number(env.KILN_WEBHOOK_PORT) : undefined
  if (webhookPort !== undefined && !(Number.isInteger(webhookPort) && webhookPort >= 0 && webhookPort < 65536)) throw new KilnError('KILN_ERR_VALIDATION', `KILN_WEBHOOK_PORT: "${env.KILN_WEBHOOK_PORT}" is not a port`)
  return startKubernetesPlatform(config, {
    role, kubeconfig: f.kubeconfig, namespace: kilnNamespace(f.namespace),
    identity: env.KILN_POD_NAME ?? `${hostname()}-${process.pid}`, leaderLease: role === 'controller' ? undefined : leaderLease,
    leaseDurationSeconds: leaseSeconds(), advertiseUrl,
    ...(env.KILN_RUNTIME_POD_TEMPLATE ? { runtimePods: parseRuntimePodTemplate(env.KILN_RUNTIME_POD_TEMPLATE) } : {}),
    ...(env.KILN_RUNTIMES ? { builtinRuntimes: parseRuntimes(env.KILN_RUNTIMES) } : {}),
    ...(webhookPort !== undefined ? {
      webhook: {
        port: webhookPort, host: config.host,
        service: env.KILN_WEBHOOK_SERVICE ?? 'kiln-controller', secret: env.KILN_WEBHOOK_SECRET ?? 'kiln-webhook-tls',
        manageCert: env.KILN_WEBHOOK_MANAGE_CERT !== 'false',
      },
    } : {}),
  })
}

export async function startRouterRole(config: KilnConfig, f: RoleFlags): Promise<Running> {
  const { createLogger } = await import('../../core/logger.js')
  const { startRouterProxy } = await import('../../router/entry-tier.js')
  const executorUrl = f.executorUrl ?? env.KILN_EXECUTOR_URL
  if (!executorUrl) throw new Error('set KILN_EXECUTOR_URL (or --executor-url) to the executor Service')
  const logger = createLogger({ level: config.logLevel })
  // With KILN_EXECUTOR_GROUP (the executors' leader Lease), it watches their member Leases to send each
  // function's requests to the replica that owns it; the Kubernetes client loads only then.
  let members: { ownerOf(fn: string): { url: string } | undefined; stop(): Promise<void> } | undefined
  if (env.KILN_EXECUTOR_GROUP) {
    const { loadKubeConfig } = await import('../../cluster/kubernetes/client.js')
    const { checkKubeVersion } = await import('../../cluster/kubernetes/version.js')
    const { Membership } = await import('../../cluster/kubernetes/members.js')
    const kc = loadKubeConfig(f.kubeconfig)
    await checkKubeVersion(kc)
    const m = new Membership(kc, { namespace: kilnNamespace(f.namespace), group: env.KILN_EXECUTOR_GROUP, logger })
    await m.start()
    members = m
  }
  const proxy = await startRouterProxy({
    executorUrl, controllerUrl: f.controllerUrl ?? env.KILN_CONTROLLER_URL, port: config.port, host: config.host, logger,
    ...(members ? { owners: { ownerUrl: (fn: string) => members!.ownerOf(fn)?.url } } : {}),
  })
  return { close: async () => { await proxy.close(); await members?.stop() } }
}

export async function startNodeAgentRole(config: KilnConfig, f: RoleFlags): Promise<Running> {
  const { createServer } = await import('node:http')
  const { createLogger } = await import('../../core/logger.js')
  const { loadKubeConfig } = await import('../../cluster/kubernetes/client.js')
  const { startNodeAgent } = await import('../../cluster/kubernetes/node-agent.js')
  const { checkKubeVersion } = await import('../../cluster/kubernetes/version.js')
  const node = env.KILN_NODE_NAME
  const executorUrl = f.executorUrl ?? env.KILN_EXECUTOR_URL
  if (!node || !executorUrl) throw new Error('set KILN_NODE_NAME and KILN_EXECUTOR_URL')
  const kc = loadKubeConfig(f.kubeconfig)
  await checkKubeVersion(kc)
  const agent = startNodeAgent({
    kc, namespace: kilnNamespace(f.namespace), node,
    cgroupFs: env.KILN_CGROUP_FS ?? '/sys/fs/cgroup', executorUrl, logger: createLogger({ level: config.logLevel }),
  })
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, role: 'node-agent', node })))
  server.listen(config.port, config.host)
  return { close: async () => { agent.stop(); server.close() } }
}
