# bench/runtimes.ts: the Python function (kiln shape), the same answer as examples/hello.
def main(req):
    body = req.body if isinstance(req.body, dict) else {}
    return {'message': 'Hello, %s!' % (req.query.get('name') or body.get('name') or 'world')}
