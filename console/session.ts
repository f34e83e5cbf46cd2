// The token the console acts with: taken once from a `#token=...` fragment (which never reaches the
// server) and then removed from the address bar, or typed into the login form; kept in this tab's
// sessionStorage only, sent in the Authorization header of each /v1 call and never in a URL.
const KEY = 'kiln.token'

/** A token in the page's fragment is stored and the fragment removed (so it is not bookmarked or shared). */
export function takeFragmentToken(): void {
  const m = /^#token=([^&]+)/.exec(location.hash)
  if (!m) return
  sessionStorage.setItem(KEY, decodeURIComponent(m[1]))
  history.replaceState(null, '', location.pathname + location.search)
}

export function token(): string | undefined {
  return sessionStorage.getItem(KEY) ?? undefined
}

export function setToken(t: string): void {
  sessionStorage.setItem(KEY, t)
}

export function forget(): void {
  sessionStorage.removeItem(KEY)
}
