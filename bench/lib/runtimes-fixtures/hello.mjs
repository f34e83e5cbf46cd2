// bench/runtimes.ts: the Node function (kiln shape), the same answer as examples/hello.
export default async (req) => ({ message: `Hello, ${req.query.name ?? 'world'}!` })
