// The console's frame: who is signed in, the namespace shown (every namespace of the token, or one),
// the pages, and the page the address names.
import { useEffect, useState } from 'preact/hooks'
import { api, whenUnauthenticated } from './api'
import { Login } from './login'
import { Executions } from './pages/executions'
import { Functions } from './pages/functions'
import { Invocations } from './pages/invocations'
import { Logs } from './pages/logs'
import { Nodes } from './pages/nodes'
import { Pools } from './pages/pools'
import { href, useRoute } from './route'
import { forget, setToken, token } from './session'
import type { Whoami } from './types'

const PAGES: { page: string; title: string; admin?: true }[] = [
  { page: 'functions', title: 'Functions' },
  { page: 'pools', title: 'Pools', admin: true },
  { page: 'nodes', title: 'Nodes & isolation' },
  { page: 'invocations', title: 'Async invocations' },
  { page: 'executions', title: 'Workflow executions' },
  { page: 'logs', title: 'Logs' },
]

export function App() {
  const [me, setMe] = useState<Whoami | undefined>()
  const [checking, setChecking] = useState(token() !== undefined)
  const [notice, setNotice] = useState<string | undefined>()
  const [namespace, setNamespace] = useState('*')
  const [namespaces, setNamespaces] = useState<string[]>([])
  const route = useRoute()

  useEffect(() => {
    whenUnauthenticated(() => {
      forget()
      setMe(undefined)
      setNotice('the token is not valid (any more): sign in again')
    })
    if (!token()) return
    api<Whoami>('/whoami').then(setMe, (err: Error) => setNotice(err.message)).finally(() => setChecking(false))
  }, [])

  useEffect(() => {
    if (!me) return
    if (me.namespaces.includes('*')) {
      api<{ metadata: { name: string } }[]>('/namespaces').then((l) => setNamespaces(['default', ...l.map((n) => n.metadata.name).filter((n) => n !== 'default')]), () => setNamespaces(['default']))
    } else setNamespaces(me.namespaces)
  }, [me])

  if (checking) return <p class="muted">Signing in…</p>
  if (!me) return <Login notice={notice} onLogin={(t, who) => { setToken(t); setNotice(undefined); setMe(who) }} />

  const admin = me.role === 'admin'
  const page = PAGES.some((p) => p.page === route.page) ? route.page : 'functions'
  return (
    <div class="shell">
      <header class="top">
        <span class="brand">Kiln</span>
        <nav>
          {PAGES.filter((p) => admin || !p.admin).map((p) => <a href={href(p.page)} class={p.page === page ? 'active' : ''}>{p.title}</a>)}
        </nav>
        <label class="ns">
          namespace
          <select value={namespace} onChange={(e) => setNamespace((e.target as HTMLSelectElement).value)}>
            <option value="*">all of mine</option>
            {namespaces.map((n) => <option value={n}>{n}</option>)}
          </select>
        </label>
        <span class="who" title={me.id}>{me.name ?? me.id} · {me.role}{me.namespaces.includes('*') ? '' : ` in ${me.namespaces.join(', ')}`}</span>
        <button class="link" onClick={() => { forget(); setMe(undefined); setNotice(undefined) }}>Sign out</button>
      </header>
      <main class="page">
        {page === 'functions' && <Functions namespace={namespace} selected={route.parts} me={me} />}
        {page === 'pools' && <Pools />}
        {page === 'nodes' && <Nodes namespace={namespace} me={me} />}
        {page === 'invocations' && <Invocations namespace={namespace} selected={route.parts[0]} me={me} />}
        {page === 'executions' && <Executions namespace={namespace} selected={route.parts[0]} />}
        {page === 'logs' && <Logs namespace={namespace} selected={route.parts} me={me} />}
      </main>
    </div>
  )
}
