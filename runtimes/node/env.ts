// The function's environment: applied at specialize, the whole process.env put back at unload.

export type EnvSnapshot = Record<string, string | undefined>

export function snapshotEnv(): EnvSnapshot {
  return { ...process.env }
}

export function applyEnv(env: Record<string, unknown> | undefined): void {
  if (!env) return
  for (const k in env) {
    const v = env[k]
    if (v === null || v === undefined) delete process.env[k]
    else process.env[k] = String(v)
  }
}

/** Restores process.env exactly to `snap` (also undoing what the function itself changed). */
export function restoreEnv(snap: EnvSnapshot): void {
  for (const k of Object.keys(process.env)) if (!(k in snap)) delete process.env[k]
  for (const k in snap) if (process.env[k] !== snap[k]) process.env[k] = snap[k]
}
