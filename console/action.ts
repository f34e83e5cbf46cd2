// A button's call of the API: busy while it runs (the button is disabled), its error kept to show.
import { useState } from 'preact/hooks'
import type { ApiError } from './api'

export interface Action<A extends unknown[]> {
  run(...args: A): Promise<void>
  busy: boolean
  error?: ApiError | string
  setError(e: ApiError | string | undefined): void
}

export function useAction<A extends unknown[]>(call: (...args: A) => Promise<unknown>): Action<A> {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<ApiError | string | undefined>()
  return {
    busy, error, setError,
    async run(...args) {
      setBusy(true)
      setError(undefined)
      try {
        await call(...args)
      } catch (err) {
        setError(err as ApiError)
      } finally {
        setBusy(false)
      }
    },
  }
}
