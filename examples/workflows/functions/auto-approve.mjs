// Approves a small order at once.
export default async (req) => ({ decision: 'approved', total: req.body.total })
