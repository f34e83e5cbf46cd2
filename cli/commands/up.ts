// `kiln up`: the embedded platform in this process, until SIGINT/SIGTERM (which stop every instance).
import type { Command } from 'commander'
import type { KilnConfig } from '../../core/config.js'
import { CliError, EXIT } from '../client.js'

/** A listen that failed because the address is taken, as a message with the fix (not a stack). */
export function addressInUse(e: unknown): CliError | undefined {
  const err = e as NodeJS.ErrnoException & { address?: string; port?: number }
  if (err?.code !== 'EADDRINUSE') return undefined
  const where = err.port !== undefined ? `${err.address ?? '127.0.0.1'}:${err.port}` : 'the address'
  return new CliError(`cannot listen on ${where}: the port is in use (another kiln up, or another program)`, EXIT.USER, 'choose another with --port (or --api-port), or stop what holds it')
}

interface UpFlags { apiPort?: string; apiHost?: string; port?: string; host?: string; data?: string; poolSize?: string; idleTimeout?: string; budget?: string; cgroups?: string; redis?: string; accessLog?: boolean; logLevel?: string; routerProcesses?: string }

export function registerUp(program: Command): void {
  program.command('up')
    .description('run the embedded platform (controller, router, executor, pools) in this process')
    .option('--port <port>', 'HTTP port (default 8080)')
    .option('--host <host>', 'address to listen on (default 127.0.0.1)')
    .option('--api-host <host>', 'serve the control API (/v1, /metrics) on its own listener at this address (default 127.0.0.1 with --api-port)')
    .option('--api-port <port>', 'port of the control API\'s own listener; the data plane then answers /v1 with 404')
    .option('--data <dir>', 'data dir (default ./.kiln)')
    .option('--pool-size <n>', 'generic instances per runtime (default 3)')
    .option('--idle-timeout <duration>', 'reap idle specialized instances after (default 2m)')
    .option('--budget <n>', 'most instances in total (default 64)')
    .option('--cgroups <mode>', 'auto | v2 | v1 | none')
    .option('--redis <url>', 'Redis for durable state: async invocations, cron progress, workflow executions (else SQLite in the data dir)')
    .option('--access-log', 'log every request')
    .option('--log-level <level>', 'pino level (default info)')
    .option('--router-processes <n>', 'router processes serving functions (default 1: the platform\'s own process); more use more cores')
    .action(async (f: UpFlags) => {
      const { loadConfig } = await import('../../core/config.js')
      // As typed: loadConfig converts and checks each value, and names the flag when one is wrong.
      const typed: Record<string, string | boolean | undefined> = {
        port: f.port, host: f.host, apiHost: f.apiHost, apiPort: f.apiPort, dataDir: f.data, poolSize: f.poolSize, idleTimeoutMs: f.idleTimeout, instanceBudget: f.budget,
        cgroups: f.cgroups, redisUrl: f.redis, accessLog: f.accessLog || undefined, logLevel: f.logLevel, routerProcesses: f.routerProcesses,
      }
      const flags = Object.fromEntries(Object.entries(typed).filter(([, v]) => v !== undefined)) as Partial<KilnConfig>
      const config = loadConfig(flags)
      const { startPlatform } = await import('../../platform/embedded.js')
      let platform
      try {
        platform = await startPlatform(config)
      } catch (e) {
        throw addressInUse(e) ?? e
      }
      let stopping = false
      const stop = (signal: string) => {
        if (stopping) {
          // A second signal while requests drain (a function may take its whole timeout): stop now. The
          // instances go with this process (their stdin pipe closes); the next start sweeps the cgroups.
          process.stderr.write(`\n${signal} again: stopping now, without waiting for requests in flight\n`)
          process.exit(130)
        }
        stopping = true
        process.stderr.write(`\n${signal}: stopping kiln and its instances (waiting for requests in flight; ${signal} again to stop now)\n`)
        platform.close().then(() => process.exit(0), (err: Error) => {
          process.stderr.write(`kiln did not stop cleanly: ${err.message}\n`)
          process.exit(1)
        })
      }
      process.on('SIGINT', () => stop('SIGINT'))
      process.on('SIGTERM', () => stop('SIGTERM'))
    })
}
