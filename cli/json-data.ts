// `--data` flags that carry JSON: the text itself, or `@file` holding it.
import { readFileSync } from 'node:fs'
import { CliError, EXIT } from './client.js'

export function parseJsonData(data: string | undefined): unknown {
  if (data === undefined) return undefined
  const text = data.startsWith('@') ? readFileSync(data.slice(1), 'utf8') : data
  try {
    return JSON.parse(text)
  } catch (e) {
    throw new CliError(`--data must be JSON (or @file holding JSON): ${(e as Error).message}`, EXIT.USER)
  }
}
