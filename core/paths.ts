// Where Kiln's own files are: the package root (found from this module, bundled or not) and dist/.
import { spawnSync } from 'node:child_process'
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

let python: string | undefined

/**
 * The Python interpreter's own executable (`sys.executable`), not a launcher in PATH such as a pyenv
 * shim: a sandbox shows the interpreter's install, not the launcher's tree (and the shim costs a boot).
 */
export function pythonExecutable(): string {
  if (python !== undefined) return python
  const name = process.env.KILN_PYTHON ?? 'python3'
  const r = spawnSync(name, ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] })
  const exe = r.status === 0 ? r.stdout.trim() : ''
  return (python = exe.startsWith('/') ? exe : name)
}

/** Expands the placeholders a runtime command may use: ${NODE}, ${PYTHON}, ${KILN_DIST}, ${KILN_ROOT}. */
export function expandCommand(argv: string[]): string[] {
  return argv.map((a) => a
    .replaceAll('${NODE}', process.execPath)
    .replaceAll('${PYTHON}', () => pythonExecutable())
    .replaceAll('${KILN_DIST}', distDir())
    .replaceAll('${KILN_ROOT}', packageRoot()))
}
