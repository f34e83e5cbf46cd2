// Bundles a Node.js function and everything it imports (npm dependencies included) into one file:
// index.mjs when the entry is ESM, index.cjs when it is CommonJS, as Node would decide.
import { existsSync, readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { dirname, extname, join, relative } from 'node:path'
import { type BuildFailure, type Message, type Metafile, build } from 'esbuild'
import { BuildError, type BuildMessage, formatMessage } from './errors.js'

// Bundled CommonJS dependencies call require() for builtins; an ESM bundle has no require of its own.
const REQUIRE_BANNER = "import { createRequire as __kilnCreateRequire } from 'node:module'; const require = __kilnCreateRequire(import.meta.url);"

export interface NodeBundle {
  /** the output file name inside `outDir` */
  file: 'index.mjs' | 'index.cjs'
  warnings: string[]
}

/** Node's rule for a file's module format: .mjs/.mts ESM, .cjs/.cts CommonJS, else the nearest package.json `type`. */
export function nodeFormat(file: string): 'esm' | 'cjs' {
  const ext = extname(file)
  if (ext === '.mjs' || ext === '.mts') return 'esm'
  if (ext === '.cjs' || ext === '.cts') return 'cjs'
  for (let dir = dirname(file); ; ) {
    const pj = join(dir, 'package.json')
    if (existsSync(pj)) {
      try {
        return JSON.parse(readFileSync(pj, 'utf8')).type === 'module' ? 'esm' : 'cjs'
      } catch {
        return 'cjs'
      }
    }
    const up = dirname(dir)
    if (up === dir) return 'cjs'
    dir = up
  }
}

function toMessage(m: Message, root: string): BuildMessage {
  const loc = m.location
  if (!loc) return { file: '', line: 0, column: 0, text: m.text }
  // esbuild's columns are 0-based; editors and Node count from 1
  return { file: loc.file.startsWith('/') ? relative(root, loc.file) : loc.file, line: loc.line, column: loc.column + 1, text: m.text }
}

async function bundle(entry: string, root: string, format: 'esm' | 'cjs', outfile: string) {
  try {
    return await build({
      entryPoints: [entry],
      absWorkingDir: root,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format,
      outfile,
      metafile: true,
      write: false,
      logLevel: 'silent',
      legalComments: 'none',
      banner: format === 'esm' ? { js: REQUIRE_BANNER } : undefined,
    })
  } catch (err) {
    const f = err as BuildFailure
    if (Array.isArray(f.errors)) throw new BuildError(f.errors.map((m) => toMessage(m, root)))
    throw err
  }
}

function entryFormat(meta: Metafile, entry: string, root: string): string | undefined {
  const key = relative(root, entry).split('\\').join('/')
  return meta.inputs[key]?.format
}

/** Bundles `entry` (found under `root`) into `outDir`. */
export async function bundleNode(entry: string, root: string, outDir: string): Promise<NodeBundle> {
  let format = nodeFormat(entry)
  let result = await bundle(entry, root, format, join(outDir, format === 'esm' ? 'index.mjs' : 'index.cjs'))
  // Node 20.19 runs a .js file with ESM syntax and no `type` as ESM; esbuild's metafile says which it is.
  const seen = entryFormat(result.metafile, entry, root)
  if (format === 'cjs' && seen === 'esm' && extname(entry) !== '.cjs' && extname(entry) !== '.cts') {
    format = 'esm'
    result = await bundle(entry, root, format, join(outDir, 'index.mjs'))
  }
  const file = format === 'esm' ? 'index.mjs' : 'index.cjs'
  const out = result.outputFiles.find((o) => o.path.endsWith(file))
  if (!out) throw new BuildError([{ file: '', line: 0, column: 0, text: 'esbuild produced no output' }])
  await writeFile(join(outDir, file), out.contents)
  return { file, warnings: result.warnings.map((w) => formatMessage(toMessage(w, root))) }
}
