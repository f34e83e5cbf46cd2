# A Python function in Kiln's own shape, with a dependency: requirements.txt is vendored by the builder
# (pip install --target) at deploy time, so the runtime imports it with no install step.
#   kiln fn deploy py-hello --runtime python --code examples/python-hello
import six


def main(req):
    body = req.body if isinstance(req.body, dict) else {}
    name = req.query.get('name') or body.get('name') or 'world'
    return {'message': 'Hello, %s!' % name, 'six': six.__version__}
