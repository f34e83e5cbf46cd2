// The operator console (docs/console.md): a token from the `#token=` fragment is kept and the
// fragment removed before anything else runs, then the app mounts.
import { render } from 'preact'
import { App } from './app'
import { takeFragmentToken } from './session'

takeFragmentToken()
render(<App />, document.getElementById('app')!)
