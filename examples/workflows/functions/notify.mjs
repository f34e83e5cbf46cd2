// Sends one notification per order line (here: returns the message it would send).
export default async (req) => {
  const { customer = 'customer', line, sku, retryLater } = req.body
  return { sent: !retryLater, message: `${customer}: line ${line ?? '?'} (${sku}) ${retryLater ? 'deferred' : 'confirmed'}` }
}
