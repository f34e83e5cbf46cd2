"""What a function receives: the kiln request object, query and body parsing (the way Express parses),
and the streamed request body for functions that ask for it (`config = {"stream": True}`)."""

import asyncio
import json
import re
from urllib.parse import parse_qsl

from .errors import KilnError

_FIELDS = ('method', 'url', 'path', 'query', 'params', 'headers', 'body')
_TRACE = ('traceparent', 'trace_id')
_TRACEPARENT = re.compile(r'^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}')


class Request:
    """`req.method` and `req['method']` both work; `req.request is req` (a Fission-style context)."""

    __slots__ = _FIELDS

    def __init__(self, method, url, path, query, params, headers, body):
        self.method = method
        self.url = url
        self.path = path
        self.query = query
        self.params = params
        self.headers = headers
        self.body = body

    @property
    def request(self):
        return self

    @property
    def traceparent(self):
        """The W3C trace context of this call (the router always sends one), or None."""
        value = self.headers.get('traceparent') if isinstance(self.headers, dict) else None
        return value if isinstance(value, str) else None

    @property
    def trace_id(self):
        """The trace id (32 hex digits) of `traceparent`, for logs and outgoing calls; None without one."""
        m = _TRACEPARENT.match(self.traceparent or '')
        return m.group(1) if m else None

    def __getitem__(self, key):
        if key == 'request':
            return self
        if key in _FIELDS or key in _TRACE:
            return getattr(self, key)
        raise KeyError(key)

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key):
        return key in _FIELDS or key == 'request'

    def keys(self):
        return list(_FIELDS) + ['request']

    def __iter__(self):
        return iter(self.keys())

    def to_dict(self):
        return {name: getattr(self, name) for name in _FIELDS}

    def __repr__(self):
        return 'Request(%s %s)' % (self.method, self.url)


def split_target(target):
    """(path, raw query string) of a request target."""
    path, _, qs = target.partition('?')
    if path.startswith('http://') or path.startswith('https://'):  # absolute-form
        path = '/' + path.split('/', 3)[3] if path.count('/') >= 3 else '/'
    return (path or '/'), qs.partition('#')[0]


def parse_query(qs):
    """A dict; a key given more than once maps to the list of its values (Node's querystring does the same)."""
    out = {}
    if not qs:
        return out
    for key, value in parse_qsl(qs, keep_blank_values=True):
        old = out.get(key)
        if old is None:
            out[key] = value
        elif isinstance(old, list):
            old.append(value)
        else:
            out[key] = [old, value]
    return out


def media_type(content_type):
    """('application/json', 'utf-8') from 'application/json; charset=UTF-8'."""
    if not content_type:
        return '', 'utf-8'
    parts = content_type.split(';')
    charset = 'utf-8'
    for param in parts[1:]:
        name, _, value = param.partition('=')
        if name.strip().lower() == 'charset' and value.strip():
            charset = value.strip().strip('"').lower()
    return parts[0].strip().lower(), charset


def is_json_type(mtype):
    return mtype == 'application/json' or (mtype.startswith('application/') and mtype.endswith('+json'))


def parse_body(raw, content_type):
    """Express-like: JSON → value, urlencoded form → dict, text/* → str, anything else → bytes; empty → None."""
    if not raw:
        return None
    mtype, charset = media_type(content_type)
    try:
        if is_json_type(mtype):
            return json.loads(raw.decode(charset))
        if mtype == 'application/x-www-form-urlencoded':
            return parse_query(raw.decode(charset))
        if mtype.startswith('text/'):
            return raw.decode(charset)
    except LookupError:
        raise KilnError('KILN_ERR_BAD_BODY', 'unknown charset %r' % charset)
    except ValueError as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise KilnError('KILN_ERR_BAD_BODY', '%s body does not parse: %s' % (mtype, e))
    return raw


def parse_params(headers):
    raw = headers.get('x-kiln-params')
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class BodyStream:
    """The request body for a streaming function: `async for chunk in req.body` / `await req.body.read()` in
    an async function, `for chunk in req.body` / `req.body.read()` in a sync one (which runs on a worker thread)."""

    def __init__(self, body, loop):
        self._body = body
        self._loop = loop

    async def _read_all(self):
        parts = []
        while True:
            data = await self._body.read_chunk()
            if not data:
                return b''.join(parts)
            parts.append(data)

    def read(self):
        """bytes (a coroutine to await when called on the event loop)."""
        if _in_loop(self._loop):
            return self._read_all()
        return asyncio.run_coroutine_threadsafe(self._read_all(), self._loop).result()

    def __aiter__(self):
        return self

    async def __anext__(self):
        data = await self._body.read_chunk()
        if not data:
            raise StopAsyncIteration
        return data

    def __iter__(self):
        return self

    def __next__(self):
        data = asyncio.run_coroutine_threadsafe(self._body.read_chunk(), self._loop).result()
        if not data:
            raise StopIteration
        return data


def _in_loop(loop):
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
