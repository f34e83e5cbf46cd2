// Installs a function folder's declared dependencies when it ships none (like Fission's builder):
// `npm install --omit=dev` in a temp copy, never in the user's folder.
import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { cp, readFile, writeFile } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import { BuildError } from './errors.js'

export function needsInstall(dir: string): boolean {
  const pj = join(dir, 'package.json')
  if (!existsSync(pj) || existsSync(join(dir, 'node_modules'))) return false
  try {
    const deps = JSON.parse(readFileSync(pj, 'utf8')).dependencies
    return deps !== null && typeof deps === 'object' && Object.keys(deps).length > 0
  } catch {
    return false
  }
}

/** Copies `dir` into `into` and installs production dependencies there. */
export async function installCopy(dir: string, into: string): Promise<void> {
  await cp(dir, into, { recursive: true, filter: (p) => basename(p) !== '.git' })
  await pinLocalDeps(dir, into)
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  await new Promise<void>((resolve, reject) => {
    execFile(
      npm,
      ['install', '--omit=dev', '--no-audit', '--no-fund', '--loglevel=error'],
      { cwd: into, timeout: 10 * 60_000, maxBuffer: 16 << 20 },
      (err, _stdout, stderr) => {
        if (!err) return resolve()
        const text = `npm install failed: ${String(stderr).trim() || err.message}`
        reject(new BuildError([{ file: join(dir, 'package.json'), line: 1, column: 1, text }], 'dependencies could not be installed'))
      },
    )
  })
}

/** `file:../x` dependencies are relative to the user's folder, not the copy: make them absolute. */
async function pinLocalDeps(dir: string, into: string): Promise<void> {
  const pj = join(into, 'package.json')
  const pkg = JSON.parse(await readFile(pj, 'utf8'))
  let changed = false
  for (const field of ['dependencies', 'optionalDependencies']) {
    const deps = pkg[field] as Record<string, string> | undefined
    for (const name in deps) {
      const spec = deps[name]
      if (typeof spec === 'string' && spec.startsWith('file:') && !spec.startsWith('file:/')) {
        deps[name] = 'file:' + resolve(dir, spec.slice(5))
        changed = true
      }
    }
  }
  if (changed) await writeFile(pj, JSON.stringify(pkg, null, 2))
}
