// A whale says the text it is sent.
export default async (req) => {
  const text = String(req.body ?? '')
  return ` ${'_'.repeat(text.length + 2)}\n< ${text} >\n ${'-'.repeat(text.length + 2)}\n    \\\n     \\   __\n      ><(  o )___\n        (  ._>  /\n         \`---'\n`
}
