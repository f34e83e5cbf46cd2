// The function builder used by `kiln fn deploy`: source folder or file in, content-addressed package out.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { packDir } from './archive.js'
import type { LanguageBuilder } from './languages/language.js'
import { node } from './languages/node.js'
import { python } from './languages/python.js'
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

/** The languages, in the order a source is recognized (the last one is the default). */
const LANGUAGES: LanguageBuilder[] = [python, node]

/**
 * Which builder: the runtime's language, else its name (`node*`, `python*`), else the source itself
 * (a .py file, or a folder with requirements.txt or .py files and no package.json → python; else node).
 */
function builderFor(input: Pick<BuildInput, 'source' | 'runtime' | 'language'>): LanguageBuilder {
  const l = input.language ?? ''
  return LANGUAGES.find((b) => l.startsWith(b.prefix) || b.aliases.includes(l))
    ?? LANGUAGES.find((b) => input.runtime.startsWith(b.prefix))
    ?? LANGUAGES.find((b) => b.looksLike(input.source))
    ?? LANGUAGES[LANGUAGES.length - 1]
}

export function languageOf(input: Pick<BuildInput, 'source' | 'runtime' | 'language'>): string {
  return builderFor(input).name
}

export async function buildPackage(input: BuildInput): Promise<BuildResult> {
  const started = performance.now()
  const lang = builderFor(input)
  const work = await mkdtemp(join(tmpdir(), 'kiln-build-'))
  try {
    const pkg = await lang.build(input, work)
    const { archive, sha256 } = await packDir(pkg.dir, pkg.files)
    return {
      archive, sha256, entrypoint: pkg.entrypoint, files: pkg.files, buildMs: Math.round((performance.now() - started) * 10) / 10,
      warnings: pkg.warnings, shape: detectShape(pkg.entrySource, lang.name),
    }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}
