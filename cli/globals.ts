import type { Connection } from './contexts.js'
import type { Format } from './output.js'

/** Options every command sees (set on the program, read at action time). */
export interface Globals {
  /** The server, token and namespace (cli/contexts.ts). */
  server(): Connection
  readonly output: Format
  readonly quiet: boolean
}
