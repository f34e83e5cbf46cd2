// Checks stock for a list of items (everything but "unobtainium" is available).
export default async (req) => {
  const missing = req.body.filter((i) => i.sku === 'unobtainium').map((i) => i.sku)
  return { available: missing.length === 0, missing }
}
