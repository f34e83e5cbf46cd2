// `kiln runtime ...` and `kiln pool ...`: runtimes and their warm generic pools.
import type { Command } from 'commander'
import { api, CliError, EXIT } from '../client.js'
import { printData, printJson, structured, printTable } from '../output.js'
import type { Globals } from '../globals.js'
import type { RuntimeResource } from '../../core/types.js'

type RuntimeView = RuntimeResource & { status?: { pool?: { target: number; ready: number; booting: number } } }
interface PoolView { runtime: string; placement: string; target: number; ready: number; booting: number; specializing: number; inUse: number }

export function registerRuntime(program: Command, g: Globals): void {
  const rt = program.command('runtime').description('runtimes (language servers) that functions run on')

  rt.command('list').description('list runtimes').action(async () => {
    const list = await api<RuntimeView[]>(g.server(), 'GET', '/runtimes')
    if (structured(g.output)) return printData(g.output, list)
    printTable(['NAME', 'PROTOCOL', 'LANGUAGE', 'POOL', 'READY', 'IMAGE / COMMAND'], list.map((r) => [
      r.metadata.name, r.spec.protocol ?? 'kiln', r.spec.language, r.status?.pool?.target, r.status?.pool?.ready, r.spec.image && !r.spec.command ? r.spec.image : (r.spec.command ?? []).join(' '),
    ]))
  })

  rt.command('get <name>').description('show a runtime').action(async (name: string) => {
    printJson(await api<RuntimeView>(g.server(), 'GET', `/runtimes/${encodeURIComponent(name)}`))
  })

  rt.command('create <name>')
    .description('register a runtime: a program (kiln up) or a container image (Kubernetes), e.g. a Fission environment server')
    .option('--image <ref>', 'container image of the runtime server (Kubernetes), e.g. registry.example.com/kiln/runtime-node:0.1.0')
    .option('--command <argv...>', 'program and arguments (kiln up; on Kubernetes it overrides the image\'s entrypoint)')
    .option('--protocol <p>', 'kiln | fission', 'kiln')
    .option('--fission-version <n>', '1 or 2 (fission protocol)', '2')
    .option('--port <n>', 'fixed port for servers that cannot use $PORT=0')
    .option('--pool-size <n>', 'generic instances kept booted')
    .action(async (name: string, f: { image?: string; command?: string[]; protocol: string; fissionVersion: string; port?: string; poolSize?: string }) => {
      if (!f.image && !f.command) throw new CliError('a runtime needs --image (Kubernetes) or --command (kiln up), or both', EXIT.USER)
      const spec: Record<string, unknown> = { protocol: f.protocol }
      if (f.image) spec.image = f.image
      if (f.command) spec.command = f.command
      if (f.protocol === 'fission') spec.fissionVersion = Number(f.fissionVersion)
      if (f.port) spec.port = Number(f.port)
      if (f.poolSize) spec.poolSize = Number(f.poolSize)
      const r = await api<RuntimeView>(g.server(), 'POST', '/runtimes', { metadata: { name }, spec })
      if (structured(g.output)) return printData(g.output, r)
      process.stderr.write(`runtime ${name} created\n`)
    })

  rt.command('delete <name>').description('delete a runtime no function uses').action(async (name: string) => {
    await api(g.server(), 'DELETE', `/runtimes/${encodeURIComponent(name)}`)
    if (!g.quiet) process.stderr.write(`deleted runtime ${name}\n`)
  })

  const pool = program.command('pool').description('warm generic pools (operators)')
  pool.command('list').description('pools with target size and live counts').action(async () => {
    const list = await api<PoolView[]>(g.server(), 'GET', '/pools')
    if (structured(g.output)) return printData(g.output, list)
    printTable(['RUNTIME', 'PLACEMENT', 'TARGET', 'READY', 'BOOTING', 'SPECIALIZING', 'IN-USE'], list.map((p) => [
      p.runtime, p.placement, p.target, p.ready, p.booting, p.specializing, p.inUse,
    ]))
  })
  pool.command('set <runtime>').description('resize a pool live').requiredOption('--size <n>', 'generic instances to keep booted')
    .action(async (runtime: string, f: { size: string }) => {
      const size = Number(f.size)
      if (!Number.isInteger(size) || size < 0) throw new CliError(`--size must be a whole number, got "${f.size}"`, EXIT.USER)
      const p = await api<PoolView>(g.server(), 'PUT', `/pools/${encodeURIComponent(runtime)}`, { size })
      if (structured(g.output)) return printData(g.output, p)
      process.stderr.write(`pool ${runtime}: target ${p.target} (ready ${p.ready}, booting ${p.booting})\n`)
    })
}
