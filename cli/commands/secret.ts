// `kiln secret ...`: named keys a function reads as files (`--secret NAME`) or variables
// (`--secret-env NAME:KEY=VAR`). Values go to the server and never come back: list and get show key
// names and sizes only.
import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { api, CliError, EXIT } from '../client.js'
import { printData, printJson, structured, printTable, since } from '../output.js'
import type { Globals } from '../globals.js'

interface SecretView { metadata: { name: string; namespace: string; createdAt: string; updatedAt: string }; keys: { key: string; bytes: number }[]; usedBy: string[] }
interface ValueFlags { fromLiteral?: string[]; fromFile?: string[] }

const collect = (v: string, prev: string[] = []) => [...prev, v]

/** `--from-literal K=V` and `--from-file K=PATH` (or `--from-file PATH`, keyed by the file's name) → base64 data. */
function data(f: ValueFlags): Record<string, string> {
  const out: Record<string, string> = {}
  const put = (k: string, v: Buffer, flag: string) => {
    if (k in out) throw new CliError(`${flag}: key "${k}" is given twice`, EXIT.USER)
    out[k] = v.toString('base64')
  }
  for (const kv of f.fromLiteral ?? []) {
    const i = kv.indexOf('=')
    if (i <= 0) throw new CliError(`--from-literal "${kv.split('=')[0]}…" is not KEY=VALUE`, EXIT.USER)
    put(kv.slice(0, i), Buffer.from(kv.slice(i + 1)), '--from-literal')
  }
  for (const kp of f.fromFile ?? []) {
    const i = kp.indexOf('=')
    const [key, path] = i > 0 ? [kp.slice(0, i), kp.slice(i + 1)] : [kp.split('/').pop()!, kp]
    let value: Buffer
    try { value = readFileSync(path) } catch (e) { throw new CliError(`--from-file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, EXIT.USER) }
    put(key, value, '--from-file')
  }
  if (Object.keys(out).length === 0) throw new CliError('give the values with --from-literal KEY=VALUE or --from-file KEY=PATH', EXIT.USER)
  return out
}

const values = (c: Command) => c
  .option('--from-literal <KEY=VALUE>', 'a key and its value (repeatable)', collect)
  .option('--from-file <KEY=PATH>', 'a key and the file holding its value (repeatable; KEY defaults to the file name)', collect)

export function registerSecret(program: Command, g: Globals): void {
  const secret = program.command('secret').description('secrets functions read as files or environment variables (values are never shown)')

  values(secret.command('create <name>').description('create a secret')).action(async (name: string, f: ValueFlags) => {
    const s = await api<SecretView>(g.server(), 'POST', '/secrets', { metadata: { name }, data: data(f) })
    if (structured(g.output)) return printData(g.output, s)
    if (!g.quiet) process.stderr.write(`secret ${name} created with key(s) ${s.keys.map((k) => k.key).join(', ')}\n`)
  })

  values(secret.command('update <name>').description('replace a secret\'s keys; the functions using it roll to the new values')).action(async (name: string, f: ValueFlags) => {
    const s = await api<SecretView>(g.server(), 'PUT', `/secrets/${encodeURIComponent(name)}`, { metadata: { name }, data: data(f) })
    if (structured(g.output)) return printData(g.output, s)
    if (!g.quiet) process.stderr.write(`secret ${name} updated (key(s) ${s.keys.map((k) => k.key).join(', ')})${s.usedBy.length ? `; ${s.usedBy.join(', ')} now serve(s) the new values` : ''}\n`)
  })

  secret.command('list').description('list secrets and their key names').action(async () => {
    const list = await api<SecretView[]>(g.server(), 'GET', '/secrets')
    if (structured(g.output)) return printData(g.output, list)
    const all = g.server().all === true
    printTable([...(all ? ['NAMESPACE'] : []), 'NAME', 'KEYS', 'USED-BY', 'AGE'], list.map((s) => [
      ...(all ? [s.metadata.namespace] : []), s.metadata.name, s.keys.map((k) => k.key).join(','), s.usedBy.join(',') || '-', since(s.metadata.createdAt),
    ]))
  })

  secret.command('get <name>').description('show a secret\'s keys and sizes (never its values)').action(async (name: string) => {
    const s = await api<SecretView>(g.server(), 'GET', `/secrets/${encodeURIComponent(name)}`)
    if (structured(g.output)) return printData(g.output, s)
    process.stdout.write(`name            ${s.metadata.name}\nnamespace       ${s.metadata.namespace}\nused by         ${s.usedBy.join(', ') || '-'}\nupdated         ${s.metadata.updatedAt}\n\n`)
    printTable(['KEY', 'BYTES'], s.keys.map((k) => [k.key, k.bytes]))
  })

  secret.command('delete <name>').description('delete a secret no function uses')
    .option('--cascade', 'remove it from the functions that use it first (they roll without it)')
    .action(async (name: string, f: { cascade?: boolean }) => {
      const r = await api<{ removedFrom?: string[] }>(g.server(), 'DELETE', `/secrets/${encodeURIComponent(name)}${f.cascade ? '?cascade=1' : ''}`)
      if (structured(g.output)) return printData(g.output, r)
      if (!g.quiet) process.stderr.write(`deleted secret ${name}${r.removedFrom ? ` (removed from ${r.removedFrom.join(', ')})` : ''}\n`)
    })
}
