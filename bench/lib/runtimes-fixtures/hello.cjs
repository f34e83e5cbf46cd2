// bench/runtimes.ts: the Fission-environment function (module.exports = async (context)).
module.exports = async (context) => ({ status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: `Hello, ${context.request.query.name || 'world'}!` }) })
