// Identity and access on the CLI: `kiln login` (a context in ~/.config/kiln/config.yaml), `kiln config
// get-contexts|use-context|current-context`, `kiln whoami` (and where its token came from), and
// `kiln token create|list|revoke` (admins).
import type { Command } from 'commander'
import { api, CliError, EXIT } from '../client.js'
import { configPath, readConfig, writeConfig, type Connection } from '../contexts.js'
import { printData, printJson, structured, printTable, since } from '../output.js'
import type { Globals } from '../globals.js'

interface TokenView { id: string; role: string; namespaces: string[]; name?: string; description?: string; createdAt: string; lastUsedAt?: string; expiresAt?: string; token?: string }
interface WhoAmI { id: string; role: string; namespaces: string[]; defaultNamespace: string; name?: string; expiresAt?: string }

const collect = (v: string, prev: string[] = []) => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)]

export function registerAccess(program: Command, g: Globals): void {
  program.command('login')
    .description('check a server and token, and save them as a context (the current one): kiln login --server URL --token T [--context NAME] [--namespace NS]')
    .option('--context <name>', 'context name (default: the server\'s host)')
    .action(async (f: { context?: string }) => {
      // --server, --token and --namespace are the program's options (they apply to every command).
      const o = program.opts() as { server?: string; token?: string; namespace?: string }
      if (!o.server || !o.token) throw new CliError('kiln login needs --server URL and --token TOKEN', EXIT.USER)
      const server = o.server.replace(/\/+$/, '')
      const namespace = o.namespace
      const conn: Connection = { url: server, token: o.token }
      const me = await api<WhoAmI>(conn, 'GET', '/whoami')
      const name = f.context ?? new URL(server).host.replace(/[^A-Za-z0-9.-]/g, '-')
      const cfg = readConfig()
      const ctx = { name, server, token: o.token, ...(namespace ? { namespace } : {}) }
      cfg.contexts = [...cfg.contexts.filter((c) => c.name !== name), ctx]
      cfg['current-context'] = name
      await writeConfig(cfg)
      if (structured(g.output)) return printData(g.output, { context: name, ...me })
      process.stderr.write(`logged in to ${server} as ${me.role} (token ${me.id}, namespaces ${me.namespaces.join(', ')}); context "${name}" saved in ${configPath()} and is current\n`)
    })

  const config = program.command('config').description('CLI contexts (server, token, namespace) in ~/.config/kiln/config.yaml')
  config.command('get-contexts').description('list contexts').action(() => {
    const cfg = readConfig()
    const rows = cfg.contexts.map((c) => ({ current: c.name === cfg['current-context'], name: c.name, server: c.server, namespace: c.namespace }))
    if (structured(g.output)) return printData(g.output, rows)
    printTable(['CURRENT', 'NAME', 'SERVER', 'NAMESPACE'], rows.map((r) => [r.current ? '*' : '', r.name, r.server, r.namespace]))
  })
  config.command('use-context <name>').description('make a context current').action(async (name: string) => {
    const cfg = readConfig()
    if (!cfg.contexts.some((c) => c.name === name)) throw new CliError(`no context "${name}" in ${configPath()}`, EXIT.USER, 'list them with `kiln config get-contexts`; add one with `kiln login`')
    cfg['current-context'] = name
    await writeConfig(cfg)
    if (!g.quiet) process.stderr.write(`switched to context "${name}"\n`)
  })
  config.command('current-context').description('print the current context').action(() => {
    const cur = readConfig()['current-context']
    if (!cur) throw new CliError('no current context', EXIT.USER, 'add one with `kiln login --server URL --token T`')
    process.stdout.write(`${cur}\n`)
  })

  program.command('whoami').description('the token in use: its role, namespaces, and where the CLI found it').action(async () => {
    const conn = g.server()
    if (!conn.token) throw new CliError(`no token for ${conn.url}`, EXIT.USER, 'pass --token, set KILN_TOKEN, or `kiln login --server URL --token T`')
    const me = await api<WhoAmI>(conn, 'GET', '/whoami')
    if (structured(g.output)) return printData(g.output, { ...me, server: conn.url, tokenSource: conn.tokenSource })
    for (const [k, v] of [['token', me.id], ['name', me.name], ['role', me.role], ['namespaces', me.namespaces.join(', ')], ['default namespace', me.defaultNamespace],
      ['expires', me.expiresAt], ['server', conn.url], ['token from', conn.tokenSource]] as const) process.stdout.write(`${k.padEnd(18)}${v ?? '-'}\n`)
  })

  const token = program.command('token').description('API tokens (admins)')
  token.command('create')
    .description('create a token and print it (once: only its hash is kept)')
    .requiredOption('--role <role>', 'admin | developer | viewer | invoker')
    .option('--namespace <ns,...>', 'namespaces it acts in, comma-separated (* for all; default: default)', collect)
    .option('--name <name>', 'a name to recognise it by')
    .option('--description <text>', 'what it is for')
    .option('--expires <duration>', 'lifetime, e.g. 30d or 12h (default: none)')
    .action(async (f: { role: string; namespace?: string[]; name?: string; description?: string; expires?: string }) => {
      // `--namespace` here is the token's; the program's -n/--namespace would take it otherwise.
      const namespaces = f.namespace ?? (program.opts().namespace ? collect(program.opts().namespace as string) : undefined)
      const t = await api<TokenView>({ ...g.server(), namespace: undefined, all: false }, 'POST', '/tokens', {
        role: f.role, ...(namespaces ? { namespaces } : {}), ...(f.name ? { name: f.name } : {}),
        ...(f.description ? { description: f.description } : {}), ...(f.expires ? { expiresIn: f.expires } : {}),
      })
      if (structured(g.output)) return printData(g.output, t)
      process.stdout.write(`${t.token}\n`)
      if (!g.quiet) process.stderr.write(`token ${t.id}: role ${t.role} in ${t.namespaces.join(', ')}${t.expiresAt ? `, expires ${t.expiresAt}` : ''} — shown once; store it now\n`)
    })
  token.command('list').description('list tokens (ids, roles, namespaces, last use; never the tokens)').action(async () => {
    const list = await api<TokenView[]>({ ...g.server(), namespace: undefined, all: false }, 'GET', '/tokens')
    if (structured(g.output)) return printData(g.output, list)
    printTable(['ID', 'NAME', 'ROLE', 'NAMESPACES', 'AGE', 'LAST-USED', 'EXPIRES'], list.map((t) => [
      t.id, t.name, t.role, t.namespaces.join(','), since(t.createdAt), t.lastUsedAt ? since(t.lastUsedAt) : undefined, t.expiresAt,
    ]))
  })
  token.command('revoke <id>').description('revoke a token at once').action(async (id: string) => {
    await api({ ...g.server(), namespace: undefined, all: false }, 'DELETE', `/tokens/${encodeURIComponent(id)}`)
    if (!g.quiet) process.stderr.write(`revoked token ${id}\n`)
  })
}
