// A function written for OpenFaaS' `node` template (of-watchdog, node18+), deployed to Kiln unchanged:
//   kiln fn deploy of-node --code examples/openfaas-node/handler.js --shape openfaas
'use strict'

module.exports = async (event, context) => {
  const name = (event.query && event.query.name) || (event.body && event.body.name) || 'world'
  return context
    .status(200)
    .headers({ 'content-type': 'application/json', 'x-served-by': 'openfaas-node' })
    .succeed({ message: `Hello, ${name}!`, method: event.method, path: event.path })
}
