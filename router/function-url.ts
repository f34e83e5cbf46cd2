// `/fn/<name>[/rest][?query]` → the function's name and the path it sees (`/rest?query`, at least `/`).
export interface FunctionUrl { name: string; path: string }

/** Undefined when the name is not valid percent-encoding. */
export function parseFunctionUrl(url: string): FunctionUrl | undefined {
  let end = url.length
  for (let i = 4; i < url.length; i++) {
    const c = url.charCodeAt(i)
    if (c === 47 /* / */ || c === 63 /* ? */) { end = i; break }
  }
  let name = url.slice(4, end)
  if (name.includes('%')) {
    try { name = decodeURIComponent(name) } catch { return undefined }
  }
  const rest = url.slice(end)
  return { name, path: rest === '' ? '/' : rest.charCodeAt(0) === 63 ? '/' + rest : rest }
}
