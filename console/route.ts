// The console's address within the page: `#/page/part/part` (the fragment never reaches the server).
import { useEffect, useState } from 'preact/hooks'

export interface Route { page: string; parts: string[] }

export function parseRoute(hash: string): Route {
  const [page = 'functions', ...parts] = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent)
  return { page, parts }
}

export function href(page: string, ...parts: string[]): string {
  return `#/${[page, ...parts].map(encodeURIComponent).join('/')}`
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash))
  useEffect(() => {
    const on = () => setRoute(parseRoute(location.hash))
    addEventListener('hashchange', on)
    return () => removeEventListener('hashchange', on)
  }, [])
  return route
}
