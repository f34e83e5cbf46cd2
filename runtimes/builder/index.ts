// The function builder used by `kiln fn deploy`: source folder or file in, content-addressed package out.
import { existsSync, readdirSync, statSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { listFiles, packDir } from './archive.js'
import { findEntry, relativeTo } from './entry.js'
import { BuildError } from './errors.js'
import { bundleNode } from './node.js'
import { installCopy, needsInstall } from './npm.js'
import { buildPythonPackage } from './python.js'
import { detectShape, type ShapeGuess } from './shape.js'

export { BuildError, type BuildMessage } from './errors.js'
export { describeGuess, detectShape, type ShapeGuess, type ShapeName } from './shape.js'

export interface BuildInput {
  /** a file, or a folder */
  source: string
  runtime: 'node' | string
  /** the runtime's language when its name does not say (e.g. a Fission environment called "fission-env") */
  language?: 'node' | 'python' | string
  /** 'file', 'file:export', or Fission-style 'file.export' */
  entrypoint?: string
}

export interface BuildResult {
  /** tar.gz of the package folder */
  archive: Buffer
  /** hex sha256 of `archive` */
  sha256: string
  /** canonical 'file' or 'file:export', relative to the package root */
  entrypoint: string
  files: string[]
  buildMs: number
  warnings: string[]
  /** the calling convention the entry source looks written for (a suggestion; see shape.ts) */
  shape: ShapeGuess
}

/**
 * Which builder: the runtime's language, else its name (`node*`, `python*`), else the source itself
 * (a .py file, or a folder with requirements.txt or .py files and no package.json → python; else node).
 */
export function languageOf(input: Pick<BuildInput, 'source' | 'runtime' | 'language'>): 'node' | 'python' {
  const l = input.language ?? ''
  if (l.startsWith('python')) return 'python'
  if (l.startsWith('node') || l === 'javascript' || l === 'typescript') return 'node'
  if (input.runtime.startsWith('python')) return 'python'
  if (input.runtime.startsWith('node')) return 'node'
  const st = statSync(input.source, { throwIfNoEntry: false })
  if (st?.isFile()) return input.source.endsWith('.py') ? 'python' : 'node'
  if (st?.isDirectory() && !existsSync(join(input.source, 'package.json'))) {
    const names = readdirSync(input.source)
    if (names.includes('requirements.txt') || (names.some((n) => n.endsWith('.py')) && !names.some((n) => /\.[cm]?[jt]s$/.test(n)))) return 'python'
  }
  return 'node'
}

export async function buildPackage(input: BuildInput): Promise<BuildResult> {
  const started = performance.now()
  const python = languageOf(input) === 'python'
  const work = await mkdtemp(join(tmpdir(), 'kiln-build-'))
  try {
    if (python) {
      const py = await buildPythonPackage({ source: input.source, entrypoint: input.entrypoint, workDir: work })
      const { archive, sha256 } = await packDir(py.dir, py.files)
      const entrySource = await readFile(join(py.dir, py.entrypoint.split(':')[0]), 'utf8').catch(() => '')
      return {
        archive, sha256, entrypoint: py.entrypoint, files: py.files, buildMs: Math.round((performance.now() - started) * 10) / 10,
        warnings: py.warnings, shape: detectShape(entrySource, 'python'),
      }
    }
    let entry = findEntry(input.source, input.entrypoint)
    const warnings: string[] = []
    const shape = detectShape(await readFile(entry.file, 'utf8').catch(() => ''), 'node')
    if (needsInstall(entry.root)) {
      const copy = join(work, 'src')
      await installCopy(entry.root, copy)
      warnings.push('dependencies installed with npm install --omit=dev (no node_modules in the source)')
      entry = { ...entry, root: copy, file: join(copy, relativeTo(entry.root, entry.file)) }
    }
    const out = join(work, 'pkg')
    await mkdir(out)
    const bundled = await bundleNode(entry.file, entry.root, out)
    warnings.push(...bundled.warnings)
    const files = await listFiles(out)
    const { archive, sha256 } = await packDir(out, files)
    return {
      archive,
      sha256,
      entrypoint: entry.exportName ? `${bundled.file}:${entry.exportName}` : bundled.file,
      files,
      buildMs: Math.round((performance.now() - started) * 10) / 10,
      warnings,
      shape,
    }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}
