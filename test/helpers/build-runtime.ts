// Bundles the Node runtime for tests exactly as build.mjs does, only when the bundle is stale.
import { existsSync, statSync } from 'node:fs'
import { readdir, rename } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

export const NODE_RUNTIME = join(root, 'dist', 'runtimes', 'node.js')

async function newestMtime(dir: string): Promise<number> {
  let newest = 0
  for (const e of await readdir(dir, { recursive: true })) newest = Math.max(newest, statSync(join(dir, e)).mtimeMs)
  return newest
}

/** Bundles runtimes/node into dist/runtimes/node.js (as build.mjs does) when the bundle is older than its sources. */
export async function buildNodeRuntime(): Promise<string> {
  const out = NODE_RUNTIME
  if (existsSync(out) && statSync(out).mtimeMs >= (await newestMtime(join(root, 'runtimes', 'node')))) return out
  const { build } = await import('esbuild')
  const tmp = `${out}.${process.pid}.tmp`
  await build({
    entryPoints: [join(root, 'runtimes', 'node', 'server.ts')],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    target: 'node20.19',
    format: 'esm',
    logLevel: 'warning',
    banner: { js: "import { createRequire as __kilnCreateRequire } from 'node:module'; const require = __kilnCreateRequire(import.meta.url);" },
  })
  await rename(tmp, out) // atomic: a parallel test file never runs half a bundle
  return out
}

