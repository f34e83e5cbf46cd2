// Builds Kiln's programs as bundled JavaScript so nothing runs through a TypeScript loader at run time:
// the CLI (which also hosts `kiln up`), each runtime server, and the console's page (dist/ui). Code-split so that `kiln fn list`
// does not load fastify.
import { build } from 'esbuild'
import { chmod, copyFile, mkdir, rm } from 'node:fs/promises'

const requireShim = "import { createRequire as __kilnCreateRequire } from 'node:module'; const require = __kilnCreateRequire(import.meta.url);"
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20.19',
  format: 'esm',
  sourcemap: 'linked',
  logLevel: 'warning',
  banner: { js: requireShim },
}

// Chunk names carry content hashes: without this, every build leaves the previous chunks behind.
await rm('dist/chunks', { recursive: true, force: true })
await rm('dist/ui', { recursive: true, force: true })
await mkdir('dist/ui', { recursive: true })
await Promise.all([
  build({
    ...common,
    entryPoints: { kiln: 'cli/main.ts' },
    outdir: 'dist',
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    // esbuild finds its native binary next to its own package; @kubernetes/client-node is large and only
    // loaded in Kubernetes mode; better-sqlite3 is a native addon that finds its .node file itself.
    external: ['esbuild', '@kubernetes/client-node', 'better-sqlite3'],
  }),
  build({ ...common, entryPoints: { 'runtimes/node': 'runtimes/node/server.ts' }, outdir: 'dist', sourcemap: false }),
  build({ ...common, entryPoints: { spawner: 'cluster/local/spawner-main.ts' }, outdir: 'dist', sourcemap: false }),
  // A router process of `kiln up --router-processes N` (router/workers/).
  build({ ...common, entryPoints: { 'router-worker': 'router/workers/worker-main.ts' }, outdir: 'dist' }),
  // The expression sandbox's worker thread; QuickJS stays in node_modules (it loads its .wasm beside itself).
  build({ ...common, entryPoints: { 'expression-worker': 'workflows/sandbox/worker.ts' }, outdir: 'dist', external: ['quickjs-emscripten-core', '@jitl/*'] }),
  build({ ...common, entryPoints: { 'relay/tcp-relay': 'cluster/local/sandbox/tcp-relay-main.ts' }, outdir: 'dist', sourcemap: false }),
  // The operator console (console/, served at /ui): Preact and the page's code for browsers, one script
  // and one stylesheet beside its page, nothing loaded from elsewhere at run time.
  build({
    entryPoints: [{ in: 'console/main.tsx', out: 'console' }, { in: 'console/style.css', out: 'console' }],
    outdir: 'dist/ui/assets',
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: ['chrome110', 'firefox115', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    sourcemap: 'linked',
    logLevel: 'warning',
  }),
  copyFile('console/index.html', 'dist/ui/index.html'),
])
await chmod('dist/kiln.js', 0o755)
