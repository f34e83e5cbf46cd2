// A function written for Fission's Node environment, deployed to Kiln unchanged.
module.exports = async function (context) {
  const name = context.request.query.name || 'world'
  return { status: 200, body: `Hello, ${name}! (from a Fission function)` }
}
