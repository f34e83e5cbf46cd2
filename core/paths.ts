// Where Kiln's own files are: the package root (found from this module, bundled or not) and dist/.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

let root: string | undefined

export function packageRoot(): string {
  if (root) return root
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const pj = join(dir, 'package.json')
    if (existsSync(pj) && (JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'kiln') return (root = dir)
    const up = dirname(dir)
    if (up === dir) throw new Error('cannot find the kiln package root')
    dir = up
  }
}

export function distDir(): string {
  return join(packageRoot(), 'dist')
}

/** Expands the placeholders a runtime command may use: ${NODE}, ${PYTHON}, ${KILN_DIST}, ${KILN_ROOT}. */
export function expandCommand(argv: string[]): string[] {
  return argv.map((a) => a
    .replaceAll('${NODE}', process.execPath)
    .replaceAll('${PYTHON}', process.env.KILN_PYTHON ?? 'python3')
    .replaceAll('${KILN_DIST}', distDir())
    .replaceAll('${KILN_ROOT}', packageRoot()))
}
