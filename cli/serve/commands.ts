// The component commands the Kubernetes manifests run (deploy/*: `kiln.js controller|executor|router|
// node-agent`), plus `kiln all-in-one` (controller + router + executor in one process against a
// cluster, for a laptop with a kubeconfig). Configuration is the manifests' environment; flags win.
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Command } from 'commander'
import type { KilnConfig } from '../../core/config.js'

interface Flags { kubeconfig?: string; namespace?: string; port?: string; host?: string; redis?: string; poolSize?: string; logLevel?: string; executorUrl?: string; controllerUrl?: string; leaderLease?: string }

const env = process.env

async function config(role: string, f: Flags): Promise<KilnConfig> {
  const { loadConfig } = await import('../../core/config.js')
  const flags: Partial<KilnConfig> = { dataDir: env.KILN_DATA ?? join(tmpdir(), `kiln-${role}`) }
  if (f.port !== undefined) flags.port = Number(f.port)
  if (f.host) flags.host = f.host
  if (f.redis) flags.redisUrl = f.redis
  if (f.poolSize !== undefined) flags.poolSize = Number(f.poolSize)
  if (f.logLevel) flags.logLevel = f.logLevel
  return loadConfig(flags)
}

/** A refusal to start (a catalogue error: too old a cluster, a bad setting) as the CLI prints it, without a stack. */
async function starting<T>(start: () => Promise<T>): Promise<T> {
  try {
    return await start()
  } catch (e) {
    const { KilnError } = await import('../../core/errors.js')
    if (!(e instanceof KilnError)) throw e
    const { CliError, EXIT } = await import('../client.js')
    throw new CliError(e.message, EXIT.USER, e.hint, e.code)
  }
}

function stopOnSignals(close: () => Promise<void>): void {
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    process.stderr.write(`${signal}: stopping\n`)
    close().then(() => process.exit(0), () => process.exit(1))
  }
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGTERM', () => stop('SIGTERM'))
}

function common(c: Command): Command {
  return c
    .option('--kubeconfig <file>', 'kubeconfig (default $KUBECONFIG, else the in-cluster ServiceAccount)')
    .option('--namespace <ns>', 'namespace of Kiln\'s resources and runtime pods (default $KILN_NAMESPACE or kiln)')
    .option('--port <port>', 'HTTP port (default $KILN_PORT or 8080)')
    .option('--host <host>', 'address to listen on (default $KILN_HOST or 127.0.0.1)')
    .option('--log-level <level>', 'pino level')
}

/** `--namespace` after a component's name is parsed as the program's (-n/--namespace): take it from there. */
function withProgramNamespace(program: Command, f: Flags): Flags {
  return { ...f, namespace: f.namespace ?? (program.opts().namespace as string | undefined) }
}

export function registerServe(program: Command): void {
  for (const role of ['controller', 'executor', 'all-in-one'] as const) {
    common(program.command(role))
      .description(role === 'controller' ? 'Kubernetes: the control API over the kiln.dev CRDs and Redis'
        : role === 'executor' ? 'Kubernetes: instance lifecycle (runtime pods), the data plane, pools; leader election with $KILN_LEADER_ELECTION'
        : 'Kubernetes: controller, router and executor in one process')
      .option('--redis <url>', 'Redis for code packages and workflow state (default $KILN_REDIS_URL)')
      .option('--pool-size <n>', 'default generic pods per runtime (default 3)')
      .option('--leader-lease <name>', 'elect a leader on this Lease (default $KILN_LEADER_ELECTION_LEASE when $KILN_LEADER_ELECTION=true)')
      .action(async (f: Flags) => {
        const { startPlatformRole } = await import('../../platform/kubernetes/roles.js')
        const running = await starting(async () => startPlatformRole(role, await config(role, f), withProgramNamespace(program, f)))
        stopOnSignals(() => running.close())
      })
  }

  common(program.command('router'))
    .description('Kubernetes: the entry tier; streams requests to the executor replica that owns the function, /v1 to the controller')
    .option('--executor-url <url>', 'the executor Service (default $KILN_EXECUTOR_URL)')
    .option('--controller-url <url>', 'the controller Service, for /v1 (default $KILN_CONTROLLER_URL)')
    .action(async (f: Flags) => {
      const { startRouterRole } = await import('../../platform/kubernetes/roles.js')
      const running = await starting(async () => startRouterRole(await config('router', f), withProgramNamespace(program, f)))
      stopOnSignals(() => running.close())
    })

  common(program.command('node-agent'))
    .description('Kubernetes: report this node\'s runtime pods\' cgroup counters to the executor')
    .option('--executor-url <url>', 'the executor Service (default $KILN_EXECUTOR_URL)')
    .action(async (f: Flags) => {
      const { startNodeAgentRole } = await import('../../platform/kubernetes/roles.js')
      const running = await starting(async () => startNodeAgentRole(await config('node-agent', f), withProgramNamespace(program, f)))
      stopOnSignals(() => running.close())
    })
}
