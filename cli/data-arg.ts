// `--data` values: the text itself, `@file` (its bytes), or `@-` (standard input, as curl reads it).
import { readFileSync } from 'node:fs'
import { CliError, EXIT } from './client.js'

export function readDataArg(v: string, flag = '--data'): Buffer {
  if (!v.startsWith('@')) return Buffer.from(v)
  const path = v.slice(1)
  try {
    return path === '-' ? readFileSync(0) : readFileSync(path)
  } catch (e) {
    throw new CliError(`${flag} ${v}: cannot read ${path === '-' ? 'standard input' : path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, EXIT.USER)
  }
}
