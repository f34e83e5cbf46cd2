// Builds a declared function's code into a package, as `kiln fn deploy` does (the same builder, the
// same shape detection), or packs it as it is for a runtime that is not Kiln's (a Fission environment
// image, which builds and loads its own way). The same files always give the same sha256, which is
// what makes a second apply of an unchanged folder a no-op.
import { copyFile, mkdtemp, rm } from 'node:fs/promises'
import { statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { CliError, EXIT } from '../client.js'
import type { CodeRef } from './desired.js'

export interface Built { sha256: string; entrypoint: string; archive: Buffer; shape?: string; said?: string; warnings: string[] }

async function packRaw(source: string, entrypoint: string | undefined): Promise<Built> {
  const { listFiles, packDir } = await import('../../runtimes/builder/archive.js')
  const single = statSync(source).isFile()
  const dir = single ? await mkdtemp(join(tmpdir(), 'kiln-raw-')) : source
  try {
    if (single) await copyFile(source, join(dir, basename(source)))
    const files = await listFiles(dir)
    const { archive, sha256 } = await packDir(dir, files)
    return { archive, sha256, entrypoint: entrypoint ?? (single ? basename(source) : '.'), warnings: [] }
  } finally {
    if (single) await rm(dir, { recursive: true, force: true })
  }
}

export async function buildCode(code: CodeRef, runtime: string, where: string): Promise<Built> {
  const staged = await code.prepare()
  try {
    if (code.language === 'raw') return await packRaw(staged.source, code.entrypoint)
    const { buildPackage, BuildError, describeGuess } = await import('../../runtimes/builder/index.js')
    try {
      const b = await buildPackage({ source: staged.source, runtime, language: code.language, entrypoint: code.entrypoint })
      return { sha256: b.sha256, entrypoint: b.entrypoint, archive: b.archive, shape: b.shape.shape, said: describeGuess(b.shape), warnings: b.warnings }
    } catch (e) {
      if (e instanceof BuildError) throw new CliError(`${where}: ${code.label}: ${e.message}`, EXIT.USER, 'fix the error at the file:line shown and apply again; nothing was written', 'KILN_ERR_BUILD_FAILED')
      throw e
    }
  } finally {
    await staged.cleanup()
  }
}
