// The function builder used by `kiln fn deploy`: source folder or file in, content-addressed package out.
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { listFiles, packDir } from './archive.js'
import { findEntry, relativeTo } from './entry.js'
import { BuildError } from './errors.js'
import { bundleNode } from './node.js'
import { installCopy, needsInstall } from './npm.js'
import { buildPythonPackage } from './python.js'

export { BuildError, type BuildMessage } from './errors.js'

export interface BuildInput {
  /** a file, or a folder */
  source: string
  runtime: 'node' | string
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
}

export async function buildPackage(input: BuildInput): Promise<BuildResult> {
  const started = performance.now()
  const python = input.runtime.startsWith('python')
  if (!python && !input.runtime.startsWith('node')) {
    throw new BuildError([{ file: '', line: 0, column: 0, text: `no builder for runtime "${input.runtime}"` }], 'cannot build')
  }
  const work = await mkdtemp(join(tmpdir(), 'kiln-build-'))
  try {
    if (python) {
      const py = await buildPythonPackage({ source: input.source, entrypoint: input.entrypoint, workDir: work })
      const { archive, sha256 } = await packDir(py.dir, py.files)
      return { archive, sha256, entrypoint: py.entrypoint, files: py.files, buildMs: Math.round((performance.now() - started) * 10) / 10, warnings: py.warnings }
    }
    let entry = findEntry(input.source, input.entrypoint)
    const warnings: string[] = []
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
    }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}
