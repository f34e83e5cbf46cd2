// The first function: greets whoever is named in the query string or the JSON body.
export default async (req) => {
  const name = req.query.name ?? req.body?.name ?? req.params?.name ?? 'world'
  return { status: 200, headers: { 'content-type': 'application/json' }, body: { message: `Hello, ${name}!` } }
}
