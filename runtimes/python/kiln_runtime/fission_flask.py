"""Functions written for Fission's Python environment, loaded unchanged (shape `fission`).

Fission runs the function as a Flask view: `def main():` takes no arguments, reads the request through
`flask.request`, and returns what a view returns (str, bytes, a dict, a tuple, a Response). For such a
handler the loader puts Kiln's Flask stand-in (flask_shim/, standard library only) on the import path
after the package, and wraps the handler so that each call binds the request and turns the return value
into a response by Flask's rules. A function that ships Flask itself (requirements.txt) imports the real
one: it then runs inside a real Flask request context and `app.make_response`. A handler that takes the
request as an argument (`def main(req)`) keeps Kiln's own calling convention.
"""

import importlib
import inspect
import io
import os
import sys

from . import response as resp

SHIM_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'flask_shim')
_FRAMING = ('content-length', 'transfer-encoding', 'connection')


def add_shim_path(base):
    """Flask for the function: its own (the package folder comes first), else the stand-in."""
    at = sys.path.index(base) + 1 if base in sys.path else 0
    sys.path.insert(at, SHIM_DIR)


def is_shim_module(path):
    return path == SHIM_DIR or path.startswith(SHIM_DIR + os.sep)


def takes_no_arguments(fn):
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return False
    return not any(p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                   for p in sig.parameters.values())


def _to_kiln(status, header_pairs, body):
    headers = [(k, v) for k, v in header_pairs if k.lower() not in _FRAMING]
    return resp.Response(int(status), headers, body)


def _shim_call(handler, flask, inc):
    req = flask.Request(inc.method, inc.path, inc.qs, inc.raw_headers, inc.body, inc.peer)
    tokens = flask._bind(req)
    try:
        try:
            r = flask.to_response(handler())
        except flask.HTTPException as e:
            r = e.get_response()
        return _to_kiln(r.status_code, r.headers.items(), r.get_data())
    finally:
        flask._unbind(tokens)


def _environ(inc):
    host = inc.headers.get('host', 'localhost')
    name, _, port = host.partition(':')
    env = {
        'REQUEST_METHOD': inc.method, 'SCRIPT_NAME': '', 'PATH_INFO': inc.path, 'QUERY_STRING': inc.qs,
        'SERVER_NAME': name or 'localhost', 'SERVER_PORT': port or '80', 'SERVER_PROTOCOL': 'HTTP/1.1',
        'REMOTE_ADDR': inc.peer or '', 'wsgi.version': (1, 0), 'wsgi.url_scheme': inc.headers.get('x-forwarded-proto', 'http'),
        'wsgi.input': io.BytesIO(inc.body or b''), 'wsgi.errors': sys.stderr, 'wsgi.multithread': True,
        'wsgi.multiprocess': False, 'wsgi.run_once': False, 'CONTENT_LENGTH': str(len(inc.body or b'')),
    }
    for k, v in inc.raw_headers:
        if k == 'content-type':
            env['CONTENT_TYPE'] = v
        elif k != 'content-length':
            key = 'HTTP_' + k.upper().replace('-', '_')
            env[key] = env[key] + ',' + v if key in env else v
    return env


def _flask_call(handler, app, http_exception, inc):
    environ = _environ(inc)
    with app.request_context(environ):
        try:
            r = app.make_response(handler())
        except http_exception as e:
            r = e.get_response(environ)
        return _to_kiln(r.status_code, r.headers.items(), r.get_data())


def wrap(handler):
    """The handler called with the request (`Incoming`), answering a Kiln response."""
    flask = sys.modules.get('flask')
    if flask is None:
        # The handler never imported Flask (`def main(): return "Hello"`): Flask's return rules still apply.
        flask = importlib.import_module('flask')
    if getattr(flask, '__kiln_shim__', False):
        call = lambda inc: _shim_call(handler, flask, inc)  # noqa: E731
    else:
        app = flask.Flask('kiln-fission-function')
        app.config['PROPAGATE_EXCEPTIONS'] = True
        http_exception = importlib.import_module('werkzeug.exceptions').HTTPException
        call = lambda inc: _flask_call(handler, app, http_exception, inc)  # noqa: E731
    if not inspect.iscoroutinefunction(handler):
        return call
    shim = getattr(flask, '__kiln_shim__', False)

    async def call_async(inc):
        # An async view: awaited with the request bound, then Flask's return rules.
        if shim:
            tokens = flask._bind(flask.Request(inc.method, inc.path, inc.qs, inc.raw_headers, inc.body, inc.peer))
            try:
                value = await handler()
            except flask.HTTPException as e:
                r = e.get_response()
                return _to_kiln(r.status_code, r.headers.items(), r.get_data())
            finally:
                flask._unbind(tokens)
            return _shim_call(lambda: value, flask, inc)
        environ = _environ(inc)
        with app.request_context(environ):
            try:
                r = app.make_response(await handler())
            except http_exception as e:
                r = e.get_response(environ)
            return _to_kiln(r.status_code, r.headers.items(), r.get_data())
    return call_async
