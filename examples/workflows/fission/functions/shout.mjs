// Upper-cases the text it is sent (a Fission Workflows task sends a string as text/plain).
export default async (req) => String(req.body ?? '').toUpperCase()
