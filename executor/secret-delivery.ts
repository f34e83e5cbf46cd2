// How a function's secrets reach its instances: the one place that hands them over, before the code
// loads. Secrets the function lists (`spec.secrets`) become files NAME/KEY; those it maps
// (`spec.secretEnv`) become environment variables of the specialization. Values pass from the secret
// store to the instance and nowhere else (not the function's spec, status, logs or events).
//
// Today the files go to `<run dir>/<instance id>/NAME/KEY` (the folder 0700 and the files 0400, the
// platform's own), and the function finds them through `$KILN_SECRETS_DIR`. Where the sandbox runs an
// instance (its own uid and mount namespace), this is the function to switch to its file placement
// (`backend.placeSecrets`, read-only at /var/kiln/secrets/NAME/KEY inside that instance alone).
// Instances on Kubernetes get the env half only; a function there that lists secret files is refused at
// load with the reason, rather than started without them.
import { createHash } from 'node:crypto'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { KilnError } from '../core/errors.js'
import type { FunctionResource } from '../core/types.js'
import type { InstanceRecord } from '../poolmgr/instance.js'

export interface SecretFile { name: string; key: string; value: Buffer }

/** What the executor reads of secrets (platform/ builds it over the secret store). */
export interface FunctionSecrets {
  /** A short fingerprint of the function's secrets' values ('' when it lists none): a change rolls it. */
  version(fn: FunctionResource): string
  /** The files and variables its instances get. Throws KILN_ERR_SECRET_NOT_FOUND when one is gone. */
  material(fn: FunctionResource): { files: SecretFile[]; env: Record<string, string> }
  /** Calls back with the namespace and name of each secret that changes or goes. */
  watch(cb: (namespace: string, name: string) => void): () => void
}

export interface DeliveryTarget {
  /** Where secret files go for instances that run on this machine; undefined: they do not (Kubernetes). */
  dir: string | undefined
}

/** Where the instance's files are: under the run dir, by instance id (ids are the platform's, never a function's). */
function folderOf(t: DeliveryTarget, rec: InstanceRecord): string | undefined {
  return t.dir === undefined ? undefined : join(t.dir, rec.id.replace(/[^A-Za-z0-9_.-]/g, '_'))
}

/**
 * Hands the function's secrets to the instance before its code loads; returns the environment its
 * specialization adds. Whatever an earlier function left in the instance's folder is removed first.
 */
export async function deliverSecrets(rec: InstanceRecord, fn: FunctionResource, secrets: FunctionSecrets | undefined, t: DeliveryTarget): Promise<Record<string, string>> {
  const listed = (fn.spec.secrets?.length ?? 0) + (fn.spec.secretEnv?.length ?? 0)
  if (holding.has(rec)) await withdrawSecrets(rec, t)
  if (listed === 0 || secrets === undefined) return {}
  let material: { files: SecretFile[]; env: Record<string, string> }
  try {
    material = secrets.material(fn)
  } catch {
    // A caller of the function learns that it could not load, not which secret it lacks.
    throw new KilnError('KILN_ERR_SPECIALIZE_FAILED', `function "${fn.metadata.name}" could not be loaded: one of the secrets it lists is missing (compare \`kiln fn get\` with \`kiln secret list\`)`)
  }
  const { files, env } = material
  if (files.length === 0) return env
  const folder = folderOf(t, rec)
  if (folder === undefined) {
    throw new KilnError('KILN_ERR_SPECIALIZE_FAILED', `function "${fn.metadata.name}" lists secret files (spec.secrets), which instances on this backend cannot receive yet; map the keys it needs to environment variables with --secret-env instead`)
  }
  holding.add(rec)
  await mkdir(folder, { recursive: true, mode: 0o700 })
  for (const f of files) {
    await mkdir(join(folder, f.name), { recursive: true, mode: 0o700 })
    await writeFile(join(folder, f.name, f.key), f.value, { mode: 0o400 })
  }
  return { ...env, KILN_SECRETS_DIR: folder }
}

/** Removes what deliverSecrets put there (the instance left its function, or is gone). */
export async function withdrawSecrets(rec: InstanceRecord, t: DeliveryTarget): Promise<void> {
  if (!holding.delete(rec)) return
  const folder = folderOf(t, rec)
  if (folder) await rm(folder, { recursive: true, force: true })
}

/** Instances that have secret files now (so the common case, none, costs no file-system call). */
const holding = new WeakSet<InstanceRecord>()

/** The fingerprint FunctionSecrets.version gives: the listed secrets and env mapping, and each secret's own version. */
export function secretsFingerprint(fn: FunctionResource, versionOf: (name: string) => string | undefined): string {
  const names = [...new Set([...(fn.spec.secrets ?? []), ...(fn.spec.secretEnv ?? []).map((e) => e.secret)])].sort()
  if (names.length === 0) return ''
  const key = JSON.stringify([fn.spec.secrets ?? [], fn.spec.secretEnv ?? [], names.map((n) => [n, versionOf(n) ?? 'missing'])])
  return createHash('sha256').update(key).digest('hex').slice(0, 8)
}
