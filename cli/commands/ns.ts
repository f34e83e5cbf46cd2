// `kiln ns ...` (admins): namespaces, the unit of a team, and their settings.
import type { Command } from 'commander'
import { api } from '../client.js'
import { printData, printJson, structured, printTable, since } from '../output.js'
import type { Globals } from '../globals.js'
import type { NamespaceResource } from '../../core/types.js'

type NsView = NamespaceResource & { status?: { resources?: Record<string, number> } }

interface NsFlags { shareInstances?: boolean; allowPrivateWithoutSandbox?: boolean }

function spec(f: NsFlags, prev: NamespaceResource['spec'] = {}): NamespaceResource['spec'] {
  const s = { ...prev }
  if (f.shareInstances !== undefined) s.shareInstances = f.shareInstances
  if (f.allowPrivateWithoutSandbox !== undefined) s.allowPrivateWithoutSandbox = f.allowPrivateWithoutSandbox
  return s
}

const flags = (c: Command) => c
  .option('--share-instances', 'instances may pass between functions of this namespace (faster cold starts; they trust each other)')
  .option('--no-share-instances', 'an instance that ran one function\'s code never serves another (the default)')
  .option('--allow-private-without-sandbox', 'allow private functions here even where the sandbox is incomplete')
  .option('--no-allow-private-without-sandbox', 'refuse them there (the default)')

export function registerNs(program: Command, g: Globals): void {
  const ns = program.command('ns').alias('namespace').description('namespaces: functions, routes, workflows and secrets of one team (admins)')
  // Namespaces are cluster-wide: the program's -n does not apply to these requests.
  const conn = () => ({ ...g.server(), namespace: undefined, all: false })

  flags(ns.command('create <name>').description('create a namespace')).action(async (name: string, f: NsFlags) => {
    const n = await api<NsView>(conn(), 'POST', '/namespaces', { metadata: { name }, spec: spec(f) })
    if (structured(g.output)) return printData(g.output, n)
    if (!g.quiet) process.stderr.write(`namespace ${name} created\n`)
  })

  flags(ns.command('update <name>').description('change a namespace\'s settings')).action(async (name: string, f: NsFlags) => {
    const cur = await api<NsView>(conn(), 'GET', `/namespaces/${encodeURIComponent(name)}`)
    const n = await api<NsView>(conn(), 'PUT', `/namespaces/${encodeURIComponent(name)}`, { metadata: { name }, spec: spec(f, cur.spec) })
    if (structured(g.output)) return printData(g.output, n)
    if (!g.quiet) process.stderr.write(`namespace ${name} updated\n`)
  })

  ns.command('list').description('list namespaces').action(async () => {
    const list = await api<NsView[]>(conn(), 'GET', '/namespaces')
    if (structured(g.output)) return printData(g.output, list)
    printTable(['NAME', 'SHARE-INSTANCES', 'PRIVATE-WITHOUT-SANDBOX', 'RESOURCES', 'AGE'], list.map((n) => [
      n.metadata.name, n.spec.shareInstances ? 'yes' : 'no', n.spec.allowPrivateWithoutSandbox ? 'allowed' : 'no',
      Object.entries(n.status?.resources ?? {}).map(([k, v]) => `${k}:${v}`).join(' ') || '-', since(n.metadata.createdAt),
    ]))
  })

  ns.command('get <name>').description('show a namespace').action(async (name: string) => {
    printJson(await api<NsView>(conn(), 'GET', `/namespaces/${encodeURIComponent(name)}`))
  })

  ns.command('delete <name>').description('delete an empty namespace')
    .option('--cascade', 'delete everything in it first (routes, workflows, functions, secrets)')
    .action(async (name: string, f: { cascade?: boolean }) => {
      const r = await api<{ cascaded?: Record<string, number> }>(conn(), 'DELETE', `/namespaces/${encodeURIComponent(name)}${f.cascade ? '?cascade=1' : ''}`)
      if (structured(g.output)) return printData(g.output, r)
      if (!g.quiet) process.stderr.write(`deleted namespace ${name}${r.cascaded ? ` and ${Object.entries(r.cascaded).map(([k, v]) => `${v} ${k}`).join(', ')}` : ''}\n`)
    })
}
