// Output for read commands: readable tables by default (`-o wide`: with more columns), `-o json` and
// `-o yaml` for machines, `-o name` for scripts (`function/hello`, one per line). Any other format is
// refused (exit 1) before the command runs.
import Table from 'cli-table3'
import { stringify as toYaml } from 'yaml'
import { CliError, EXIT } from './client.js'

export const FORMATS = ['table', 'wide', 'json', 'yaml', 'name'] as const
export type Format = typeof FORMATS[number]

/** The `-o` value as a Format, or a CliError naming the allowed ones. */
export function parseFormat(v: string | undefined): Format {
  const f = v ?? 'table'
  if ((FORMATS as readonly string[]).includes(f)) return f as Format
  throw new CliError(`-o ${f}: unknown output format; use one of ${FORMATS.join(', ')}`, EXIT.USER)
}

/** json, yaml and name print the data itself; table and wide are the command's own table. */
export function structured(f: Format): boolean {
  return f === 'json' || f === 'yaml' || f === 'name'
}

export function printJson(v: unknown): void {
  process.stdout.write(JSON.stringify(v, null, 2) + '\n')
}

/** `function/hello` for a resource (kind lower-cased), else its name, id or runtime field. */
function nameOf(v: unknown): string {
  const o = (v ?? {}) as { kind?: string; metadata?: { name?: string }; name?: string; id?: string; runtime?: string; deleted?: string }
  const name = o.metadata?.name ?? o.name ?? o.id ?? o.runtime ?? o.deleted ?? ''
  return o.kind ? `${o.kind.toLowerCase()}/${name}` : String(name)
}

/** Prints data as json, yaml or names (for `structured` formats). */
export function printData(f: Format, v: unknown): void {
  if (f === 'yaml') process.stdout.write(toYaml(v, { aliasDuplicateObjects: false }))
  else if (f === 'name') for (const item of Array.isArray(v) ? v : [v]) process.stdout.write(`${nameOf(item)}\n`)
  else printJson(v)
}

export function printTable(head: string[], rows: (string | number | undefined)[][]): void {
  const t = new Table({
    head,
    style: { head: [], border: [], compact: true },
    chars: { top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ' },
  })
  for (const r of rows) t.push(r.map((c) => (c === undefined ? '-' : String(c))))
  process.stdout.write(t.toString().split('\n').map((l) => l.trimEnd().replace(/^ /, '')).join('\n') + '\n')
}

export function age(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '-'
  const s = Math.floor(ms / 1000)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m`
  if (s < 86400) return `${Math.floor(s / 3600)}h`
  return `${Math.floor(s / 86400)}d`
}

export function since(iso: string | undefined): string {
  return iso ? age(Date.now() - Date.parse(iso)) : '-'
}
