#!/usr/bin/env node
// Runs a TypeScript benchmark without a TypeScript loader: bundles it with esbuild into a temp .mjs
// (packages stay external, resolved from the repo's node_modules) and runs it with node, forwarding
// arguments and node flags given before the script (e.g. --cpu-prof).
import { spawn } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import { build } from 'esbuild'

const args = process.argv.slice(2)
const i = args.findIndex((a) => a.endsWith('.ts'))
if (i < 0) {
  console.error('usage: node bench/run-ts.mjs [node flags] bench/<name>.ts [args]')
  process.exit(1)
}
const entry = resolve(args[i])
const root = resolve(import.meta.dirname, '..')
const outDir = join(root, 'node_modules', '.cache', 'kiln-bench')
mkdirSync(outDir, { recursive: true })
const outfile = join(outDir, basename(entry).replace(/\.ts$/, '.mjs'))
await build({
  entryPoints: [entry], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20.19',
  packages: 'external', sourcemap: 'inline', logLevel: 'warning',
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
})
const child = spawn(process.execPath, [...args.slice(0, i), outfile, ...args.slice(i + 1)], { stdio: 'inherit', cwd: root })
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
