// `kiln route ...`: user HTTP routes (method, path with :params, host) to a function or workflow.
import type { Command } from 'commander'
import { api, CliError, EXIT } from '../client.js'
import { printData, printJson, structured, printTable, since } from '../output.js'
import type { Globals } from '../globals.js'
import { parseTarget, targetOf } from '../../core/refs.js'
import type { HTTPTriggerResource } from '../../core/types.js'

export function registerRoute(program: Command, g: Globals): void {
  const route = program.command('route').description('HTTP routes to functions and workflows')

  route.command('add')
    .description('route METHOD PATH (with :params) to a function or workflow')
    .option('--method <method>', 'GET, POST, ... or ANY', 'GET')
    .requiredOption('--path <path>', 'e.g. /greet/:name')
    .option('--function <name>', 'target function; NAME@N for a version, NAME@ALIAS for an alias')
    .option('--workflow <name>', 'target workflow')
    .option('--host <host>', 'only for this Host')
    .option('--name <name>', 'route name (default from method and path)')
    .action(async (f: { method: string; path: string; function?: string; workflow?: string; host?: string; name?: string }) => {
      if (!f.function === !f.workflow) throw new CliError('give exactly one of --function or --workflow', EXIT.USER)
      const target = f.function === undefined ? undefined : parseTarget(f.function)
      if (f.function !== undefined && target === undefined) throw new CliError(`--function "${f.function}" is not NAME, NAME@VERSION or NAME@ALIAS`, EXIT.USER)
      const fnTarget = target === undefined ? undefined : { function: target.ref, ...(target.version ? { version: target.version } : {}), ...(target.alias ? { alias: target.alias } : {}) }
      const body = {
        ...(f.name ? { metadata: { name: f.name } } : {}),
        spec: { method: f.method.toUpperCase(), path: f.path, ...(f.host ? { host: f.host } : {}), ...(fnTarget ?? { workflow: f.workflow }) },
      }
      const t = await api<HTTPTriggerResource>(g.server(), 'POST', '/triggers', body)
      if (structured(g.output)) return printData(g.output, t)
      process.stderr.write(`route ${t.metadata.name}: ${t.spec.method} ${t.spec.path} -> ${t.spec.function ? targetOf(t.spec.function, t.spec) : `workflow ${t.spec.workflow}`}\n`)
    })

  route.command('list').description('list routes').action(async () => {
    const list = await api<HTTPTriggerResource[]>(g.server(), 'GET', '/triggers')
    if (structured(g.output)) return printData(g.output, list)
    printTable(['NAME', 'METHOD', 'PATH', 'HOST', 'TARGET', 'AGE'], list.map((t) => [
      t.metadata.name, t.spec.method, t.spec.path, t.spec.host, t.spec.function ? targetOf(t.spec.function, t.spec) : `wf:${t.spec.workflow}`, since(t.metadata.createdAt),
    ]))
  })

  route.command('delete <name>').description('delete a route').action(async (name: string) => {
    await api(g.server(), 'DELETE', `/triggers/${encodeURIComponent(name)}`)
    if (!g.quiet) process.stderr.write(`deleted route ${name}\n`)
  })
}
