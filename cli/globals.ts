import type { Format } from './output.js'

/** Options every command sees (set on the program, read at action time). */
export interface Globals {
  server(): string
  readonly output: Format
  readonly quiet: boolean
}
