// Queues an order for a person to review.
export default async (req) => ({ decision: 'review', customer: req.body.customer, total: req.body.total })
