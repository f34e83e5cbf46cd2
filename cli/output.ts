// Output for read commands: readable tables by default, `-o json` for machines.
import Table from 'cli-table3'

export type Format = 'table' | 'json'

export function printJson(v: unknown): void {
  process.stdout.write(JSON.stringify(v, null, 2) + '\n')
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
