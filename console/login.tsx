// The login form: a token (`kiln token create`, or the admin token `kiln up` wrote to its data dir),
// checked with GET /v1/whoami before it is kept. Posted to nowhere: the page reads it, so it never
// lands in a URL.
import { useState } from 'preact/hooks'
import { api, ApiError } from './api'
import { ErrorLine } from './components/common'
import type { Whoami } from './types'

export function Login({ onLogin, notice }: { onLogin(token: string, me: Whoami): void; notice?: string }) {
  const [value, setValue] = useState('')
  const [error, setError] = useState<ApiError | Error | string | undefined>(notice)
  const [busy, setBusy] = useState(false)
  const submit = async (e: Event) => {
    e.preventDefault()
    const t = value.trim()
    if (!t) return setError('enter a token')
    setBusy(true)
    try {
      onLogin(t, await api<Whoami>('/whoami', { token: t }))
    } catch (err) {
      setError(err as Error)
    } finally {
      setBusy(false)
    }
  }
  return (
    <div class="login">
      <form method="post" class="card" onSubmit={submit} autocomplete="off">
        <h1>Kiln console</h1>
        <label for="token">Token</label>
        <input id="token" name="token" type="password" value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} placeholder="kiln_…" autofocus />
        <p class="muted">A token from <code>kiln token create</code>, or the admin token in the data dir of <code>kiln up</code>.</p>
        <ErrorLine error={error} />
        <button type="submit" disabled={busy}>Sign in</button>
      </form>
    </div>
  )
}
