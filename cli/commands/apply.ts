// `kiln apply -f`, `kiln diff -f`, `kiln delete -f` (cli/apply/) and `kiln get all|KIND [NAME]`, whose
// `-o yaml` applies back unchanged: each object as a file declares it (docs/declarative.md).
import type { Command } from 'commander'
import { CliError, EXIT } from '../client.js'
import type { Globals } from '../globals.js'
import { printData, printTable, structured } from '../output.js'
import type { Resource } from '../../core/types.js'
import { KINDS, kindEntry, type KindEntry } from '../apply/kinds.js'
import { runApply, runDelete, runDiff, type ApplyFlags } from '../apply/run.js'

const collect = (v: string, prev: string[] = []) => [...prev, v]

const files = (c: Command) => c
  .requiredOption('-f, --filename <path>', 'a file, a folder of them, or - for standard input (repeatable)', collect)
  .option('-R, --recursive', 'read the subfolders of a folder too')

/** `functions`, `fn`, `route` ... → the kind's entry. */
const PLURALS: Record<string, string> = {
  function: 'Function', functions: 'Function', fn: 'Function', route: 'HTTPTrigger', routes: 'HTTPTrigger', httptrigger: 'HTTPTrigger', httptriggers: 'HTTPTrigger',
  runtime: 'Runtime', runtimes: 'Runtime', workflow: 'Workflow', workflows: 'Workflow', wf: 'Workflow', secret: 'Secret', secrets: 'Secret',
  namespace: 'Namespace', namespaces: 'Namespace', ns: 'Namespace',
}

function entriesFor(what: string): KindEntry[] {
  if (what === 'all') return KINDS.filter((k) => k.listed)
  const kind = PLURALS[what.toLowerCase()] ?? kindEntry(what)?.kind
  const e = kind ? kindEntry(kind) : undefined
  if (!e) throw new CliError(`get ${what}: unknown kind; use all, ${Object.keys(PLURALS).filter((k) => k.endsWith('s')).join(', ')}`, EXIT.USER)
  return [e]
}

export function registerApply(program: Command, g: Globals): void {
  files(program.command('apply'))
    .description('create or update what the files declare (Kiln resources, a Fission spec folder, an OpenFaaS stack file); unchanged resources are left alone')
    .option('--prune', 'delete what this folder\'s apply set holds and the files no longer declare')
    .option('--dry-run', 'say what would change, change nothing (with -o yaml: print the resolved resources)')
    .option('--set <name>', 'the apply set (the label on what is applied; default: the folder or file name, or a Fission DeploymentConfig\'s uid)')
    .option('--kube-namespace <ns>', 'with --dry-run -o yaml: print Kubernetes objects for `kubectl apply -n NS -f -` (packages inline)')
    .action((f: ApplyFlags) => runApply(g, f))

  files(program.command('diff'))
    .description('show what `kiln apply` would change (exit 0: nothing, 1: differences)')
    .option('--prune', 'also show what --prune would delete')
    .option('--set <name>', 'the apply set')
    .action((f: ApplyFlags) => runDiff(g, f))

  files(program.command('delete'))
    .description('delete what the files declare (routes and triggers before functions); secrets and packages stay')
    .option('--dry-run', 'say what would be deleted')
    .option('--cascade', 'also delete what else refers to the functions')
    .action((f: ApplyFlags & { cascade?: boolean }) => runDelete(g, f))

  program.command('get <what> [name]')
    .description('list resources: all, functions, routes, runtimes, workflows, secrets (-o yaml applies back unchanged)')
    .action(async (what: string, name: string | undefined) => {
      const conn = g.server()
      const objects: Resource[] = []
      for (const e of entriesFor(what)) {
        const c = e.namespaced ? conn : { ...conn, namespace: undefined, all: false }
        let list: Resource[]
        try { list = await e.list(c) } catch (err) {
          // A developer lists the namespaced kinds of `all`; cluster-wide ones are the admin's.
          if (what === 'all' && err instanceof CliError && err.code === 'KILN_ERR_FORBIDDEN') continue
          throw err
        }
        for (const r of list) {
          if (name !== undefined && r.metadata.name !== name) continue
          if (what === 'all' && r.metadata.labels?.['kiln.dev/builtin'] === 'true') continue
          objects.push(e.export(r))
        }
      }
      if (name !== undefined && objects.length === 0) throw new CliError(`${what} ${name} not found`, EXIT.USER, undefined, 'KILN_ERR_NOT_FOUND')
      if (structured(g.output)) {
        if (g.output === 'name') return printData('name', objects)
        return printData(g.output, name !== undefined && objects.length === 1 ? objects[0] : { apiVersion: 'v1', kind: 'List', items: objects })
      }
      const all = conn.all === true
      printTable([...(all ? ['NAMESPACE'] : []), 'KIND', 'NAME', 'APPLY SET', ...(g.output === 'wide' ? ['LABELS'] : [])], objects.map((o) => [
        ...(all ? [o.metadata.namespace ?? '-'] : []), o.kind, o.metadata.name, o.metadata.labels?.['kiln.dev/apply-set'],
        ...(g.output === 'wide' ? [Object.entries(o.metadata.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(',') || undefined] : []),
      ]))
    })
}
