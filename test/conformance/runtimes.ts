// The runtimes the conformance suite runs against. Adding a runtime: one entry here and a folder of
// fixture functions in its language, one file per fixture, named by the fixture (`echo.py`, ...).
// A case whose fixture file is missing for a runtime is skipped for that runtime (e.g. the openfaas
// shape on a runtime that does not offer it).
//
// Fixtures each case needs (behaviour, language-neutral):
//   echo      the request as JSON: {method, path, url, query, params, headers, body}; body is the parsed
//             body (JSON value, form object, text) or null when empty. Query values that repeat are arrays.
//   bytes     answers the raw request body bytes unchanged, content-type application/octet-stream.
//   upload    declares a streaming request body; reads it as a stream and answers JSON {bytes, sha256 (hex)}.
//   stream    answers `?n=` lines "chunk <i>\n" (i from 0) as a streamed, chunked response, text/plain
//             (`?kind=readable` may pick another streaming mechanism; both must give the same bytes).
//   status    answers status `?code=` with body "status <code>" (no body for 204/304; location for 3xx).
//   throws    fails with an error whose message is "kaboom".
//   hang      never answers (timeout case).
//   crash     exits the process with code 3 while handling the request.
//   env       answers, as text, the environment variable named by `?name=` ('' when unset).
//   barrier   waits until `?n=` requests have arrived, then each answers JSON {arrived}.
//   log       prints "stdout <id>" to stdout and "stderr <id>" to stderr (`?id=`), answers "ok".
//   broken    does not load: a syntax error on line 3.
//   fission   (shape fission) answers 200, header x-shape: fission, body
//             "hello <query name>, you sent <JSON of the parsed body>".
//   openfaas  (shape openfaas) answers 201, header x-shape: openfaas, JSON {method, path, query, body}.
//   lambda    (shape lambda) answers 202, header x-shape: lambda, cookie a=1, JSON {version, method,
//             rawPath, rawQueryString, query, body (decoded), isBase64Encoded, functionName}.
//
// A runtime that speaks Fission's environment protocol (`protocol: 'fission'`) is specialized with
// `POST /v2/specialize {filepath, functionName}` and only receives invocations on `/`; the cases that
// need Kiln's own endpoints (/healthz JSON, /v1/unload, error codes) do not apply to it.
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildNodeRuntime } from '../helpers/build-runtime.js'
import { FISSION_ENV_SERVER } from '../fission-env/process.js'
import type { Tier } from '../helpers/tier.js'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..')

export interface ConformanceRuntime {
  name: string
  /** the program to start (PORT, KILN_READY_FD... are set by the suite) */
  command: string[]
  /** folder of fixture functions in the runtime's language */
  fixtures: string
  /** the usual extension of a fixture file (a fixture may use another one, e.g. .cjs) */
  ext: string
  /** makes `command` runnable (e.g. bundles the runtime); run once before the runtime's cases */
  prepare?: () => Promise<void>
  /** the specialization protocol (default kiln) */
  protocol?: 'kiln' | 'fission'
  /** the tier a runtime that may be missing here belongs to (test/helpers/tier.ts) */
  tier?: Tier
  /** why the runtime cannot run on this machine (its cases are skipped, or fail where the tier is required), or undefined */
  unavailable?: string
}

const PYTHON = process.env.KILN_PYTHON ?? 'python3'

function pythonMissing(): string | undefined {
  const r = spawnSync(PYTHON, ['-c', 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'], { stdio: 'ignore' })
  return r.status === 0 ? undefined : `${PYTHON} (3.11+) not found`
}

export const runtimes: ConformanceRuntime[] = [
  {
    name: 'node',
    command: [process.execPath, join(root, 'dist', 'runtimes', 'node.js')],
    fixtures: join(here, 'fixtures', 'node'),
    ext: 'mjs',
    prepare: async () => {
      await buildNodeRuntime()
    },
  },
  {
    name: 'python',
    command: [PYTHON, join(root, 'runtimes', 'python', 'server.py')],
    fixtures: join(here, 'fixtures', 'python'),
    ext: 'py',
    tier: 'python',
    unavailable: pythonMissing(),
  },
  {
    // A Fission environment server (test/fission-env/server.mjs, written from Fission's protocol).
    name: 'fission-env',
    command: [process.execPath, FISSION_ENV_SERVER],
    fixtures: join(here, 'fixtures', 'fission-env'),
    ext: 'js',
    protocol: 'fission',
  },
]
