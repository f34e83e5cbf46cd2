// The Kubernetes components as `kiln <component>` starts them (deploy/*): the platform roles
// (`controller`, `executor`, `all-in-one`: platform.ts), the stateless router tier and the node agent.
// Each loads only what it runs: the router tier never loads the Kubernetes client.
import { hostname } from 'node:os'
import type { KilnConfig } from '../../core/config.js'
import type { Role } from './platform.js'

export type { Role } from './platform.js'

export interface RoleFlags {
  kubeconfig?: string
  namespace?: string
  executorUrl?: string
  leaderLease?: string
}

export interface Running { close(): Promise<void> }

const env = process.env

/** The namespace Kiln lives in: the flag, else $KILN_NAMESPACE, else "kiln". */
export function kilnNamespace(flag?: string): string {
  return flag ?? env.KILN_NAMESPACE ?? 'kiln'
}

export async function startPlatformRole(role: Role, config: KilnConfig, f: RoleFlags): Promise<Running> {
  const { startKubernetesPlatform } = await import('./platform.js')
  const leaderLease = f.leaderLease ?? (env.KILN_LEADER_ELECTION === 'true' ? env.KILN_LEADER_ELECTION_LEASE ?? 'kiln-executor' : undefined)
  return startKubernetesPlatform(config, {
    role, kubeconfig: f.kubeconfig, namespace: kilnNamespace(f.namespace),
    identity: env.KILN_POD_NAME ?? `${hostname()}-${process.pid}`, leaderLease: role === 'controller' ? undefined : leaderLease,
  })
}

export async function startRouterRole(config: KilnConfig, f: RoleFlags): Promise<Running> {
  const { createLogger } = await import('../../core/logger.js')
  const { startRouterProxy } = await import('../../router/entry-tier.js')
  const executorUrl = f.executorUrl ?? env.KILN_EXECUTOR_URL
  if (!executorUrl) throw new Error('set KILN_EXECUTOR_URL (or --executor-url) to the executor Service')
  return startRouterProxy({ executorUrl, port: config.port, host: config.host, logger: createLogger({ level: config.logLevel }) })
}

export async function startNodeAgentRole(config: KilnConfig, f: RoleFlags): Promise<Running> {
  const { createServer } = await import('node:http')
  const { createLogger } = await import('../../core/logger.js')
  const { loadKubeConfig } = await import('../../cluster/kubernetes/client.js')
  const { startNodeAgent } = await import('../../cluster/kubernetes/node-agent.js')
  const node = env.KILN_NODE_NAME
  const executorUrl = f.executorUrl ?? env.KILN_EXECUTOR_URL
  if (!node || !executorUrl) throw new Error('set KILN_NODE_NAME and KILN_EXECUTOR_URL')
  const agent = startNodeAgent({
    kc: loadKubeConfig(f.kubeconfig), namespace: kilnNamespace(f.namespace), node,
    cgroupFs: env.KILN_CGROUP_FS ?? '/sys/fs/cgroup', executorUrl, logger: createLogger({ level: config.logLevel }),
  })
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, role: 'node-agent', node })))
  server.listen(config.port, config.host)
  return { close: async () => { agent.stop(); server.close() } }
}
