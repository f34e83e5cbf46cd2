// The console's built files (build.mjs writes dist/ui from console/): tests of /ui serve what
// `npm test` built first; a bundle older than its sources fails loudly rather than test old code.
import { existsSync, statSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'

const root = join(import.meta.dirname, '..', '..')
export const CONSOLE_DIST = join(root, 'dist', 'ui')

export async function builtConsole(): Promise<string> {
  const bundle = join(CONSOLE_DIST, 'assets', 'console.js')
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run \`node build.mjs\` (npm test does) before the console tests`)
  const src = join(root, 'console')
  let newest = 0
  for (const e of await readdir(src, { recursive: true })) newest = Math.max(newest, statSync(join(src, e)).mtimeMs)
  if (statSync(bundle).mtimeMs < newest) throw new Error(`${bundle} is older than console/: run \`node build.mjs\` before the console tests`)
  return CONSOLE_DIST
}
