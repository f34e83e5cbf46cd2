// `--data` flags that carry JSON: the text itself, `@file` holding it, or `@-` (standard input).
import { CliError, EXIT } from './client.js'
import { readDataArg } from './data-arg.js'

export function parseJsonData(data: string | undefined): unknown {
  if (data === undefined) return undefined
  const text = readDataArg(data).toString('utf8')
  try {
    return JSON.parse(text)
  } catch (e) {
    throw new CliError(`--data must be JSON (or @file holding JSON): ${(e as Error).message}`, EXIT.USER)
  }
}
