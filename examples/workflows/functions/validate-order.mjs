// Normalizes an order: trims SKUs, rejects an empty order with a 400.
export default async (req) => {
  const order = req.body ?? {}
  const items = (order.items ?? []).filter((i) => i && i.qty > 0).map((i) => ({ sku: String(i.sku).trim(), qty: i.qty }))
  if (items.length === 0) return { status: 400, body: { error: 'order has no items' } }
  return { customer: order.customer ?? 'anonymous', items }
}
