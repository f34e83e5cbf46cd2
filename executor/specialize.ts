// Loading a function's code into a generic instance, in the protocol its runtime speaks:
// Kiln's `POST /v1/specialize`, or a Fission environment's `POST /v2/specialize` (v1: `/specialize`).
import { KilnError } from '../core/errors.js'
import type { FunctionResource, RuntimeResource } from '../core/types.js'
import type { InstanceRecord } from '../poolmgr/instance.js'

const SPECIALIZE_TIMEOUT_MS = 60_000

export interface SpecializeInput {
  rec: InstanceRecord
  fn: FunctionResource
  version: string
  runtime: RuntimeResource
  codePath: string
}

function kilnBody({ fn, version, codePath }: SpecializeInput): unknown {
  const s = fn.spec
  return {
    function: { name: fn.metadata.name, version, entrypoint: s.entrypoint, env: s.env ?? {}, timeoutMs: s.timeoutMs ?? 60_000, shape: s.shape ?? 'kiln' },
    code: { path: codePath, sha256: s.package.sha256 },
  }
}

/** Fission's entrypoint is `module.export` with the module path relative to the package, no extension. */
function fissionBody({ fn, codePath }: SpecializeInput): unknown {
  const [file, exp] = fn.spec.entrypoint.split(':')
  const mod = file.replace(/\.(c|m)?js$|\.py$/, '')
  return { filepath: codePath, functionName: exp ? `${mod}.${exp}` : mod, url: '' }
}

export async function specialize(input: SpecializeInput): Promise<void> {
  const { rec, runtime } = input
  const fission = runtime.spec.protocol === 'fission'
  const path = fission ? (runtime.spec.fissionVersion === 1 ? '/specialize' : '/v2/specialize') : '/v1/specialize'
  const body = JSON.stringify(fission ? fissionBody(input) : kilnBody(input))
  let status: number
  let text: string
  try {
    const res = await rec.client.request({
      method: 'POST', path, body,
      headers: { 'content-type': 'application/json' },
      headersTimeout: SPECIALIZE_TIMEOUT_MS, bodyTimeout: SPECIALIZE_TIMEOUT_MS,
    })
    status = res.statusCode
    text = await res.body.text()
  } catch (e) {
    throw new KilnError('KILN_ERR_SPECIALIZE_FAILED', `instance ${rec.id} did not answer specialization: ${(e as Error).message}`)
  }
  if (status >= 200 && status < 300) return
  let message = text
  try {
    const j = JSON.parse(text) as { message?: string }
    if (j.message) message = j.message
  } catch { /* plain-text error from a foreign runtime */ }
  throw new KilnError('KILN_ERR_SPECIALIZE_FAILED', `function "${input.fn.metadata.name}" could not be loaded: ${message}`, { runtimeStatus: status })
}
