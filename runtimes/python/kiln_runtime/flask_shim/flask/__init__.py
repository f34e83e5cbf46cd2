"""Kiln's stand-in for the part of Flask that functions written for Fission's Python environment use.

Fission's environment runs the function inside a Flask app: a handler takes no arguments, reads the
request through Flask's global `request` and returns what a Flask view returns. Kiln's Python runtime
runs on the standard library alone, so for functions of the `fission` shape it puts this folder on the
import path right after the function's own package: `from flask import request` finds this module,
unless the function ships Flask itself (requirements.txt), which then wins and runs for real. It is
not Flask: `request`, `Response`, `jsonify`, `make_response`, `abort`, `current_app` and `g` cover what
such handlers read and return; anything else is an ImportError that names the missing piece.
"""

import contextvars
import io
import json as _json
import logging
import types
from urllib.parse import parse_qsl

__kiln_shim__ = True
__version__ = '0-kiln-shim'

_current = contextvars.ContextVar('kiln_flask_request')
_globals = contextvars.ContextVar('kiln_flask_g')


class MultiDict(dict):
    """First value per key (as werkzeug's MultiDict reads); getlist() gives them all."""

    def __init__(self, pairs=()):
        super().__init__()
        self._lists = {}
        for key, value in pairs:
            self._lists.setdefault(key, []).append(value)
            if key not in self:
                dict.__setitem__(self, key, value)

    def get(self, key, default=None, type=None):
        if key not in self:
            return default
        value = dict.__getitem__(self, key)
        if type is None:
            return value
        try:
            return type(value)
        except (ValueError, TypeError):
            return default

    def getlist(self, key, type=None):
        values = list(self._lists.get(key, ()))
        return [type(v) for v in values] if type else values

    def to_dict(self, flat=True):
        return dict(self) if flat else {k: list(v) for k, v in self._lists.items()}

    def items(self, multi=False):
        if multi:
            return [(k, v) for k, vs in self._lists.items() for v in vs]
        return dict.items(self)


class Headers:
    """Case-insensitive header access; iterates as (Name, value) pairs."""

    def __init__(self, pairs=()):
        self._pairs = list(pairs)

    def get(self, key, default=None, type=None):
        key = key.lower()
        for k, v in self._pairs:
            if k.lower() == key:
                if type is None:
                    return v
                try:
                    return type(v)
                except (ValueError, TypeError):
                    return default
        return default

    def getlist(self, key):
        key = key.lower()
        return [v for k, v in self._pairs if k.lower() == key]

    def __getitem__(self, key):
        v = self.get(key)
        if v is None:
            raise KeyError(key)
        return v

    def __contains__(self, key):
        return self.get(key) is not None

    def __iter__(self):
        return iter(self._pairs)

    def __len__(self):
        return len(self._pairs)

    def items(self):
        return list(self._pairs)

    def keys(self):
        return [k for k, _ in self._pairs]

    def set(self, key, value):
        self._pairs = [(k, v) for k, v in self._pairs if k.lower() != key.lower()] + [(key, str(value))]

    __setitem__ = set

    def add(self, key, value):
        self._pairs.append((key, str(value)))

    def to_wsgi_list(self):
        return list(self._pairs)


class Request:
    """The request being served, with the attributes of Flask's (werkzeug's) request that handlers read."""

    def __init__(self, method, path, query_string, headers, body, remote_addr=None):
        self.method = method
        self.path = path or '/'
        self.query_string = query_string.encode('latin-1') if isinstance(query_string, str) else (query_string or b'')
        self.headers = Headers(headers)
        self._data = body or b''
        self.remote_addr = remote_addr
        self.args = MultiDict(parse_qsl(self.query_string.decode('latin-1'), keep_blank_values=True))
        self.view_args = {}
        self.endpoint = 'userfunc_call'
        self.files = MultiDict()

    @property
    def scheme(self):
        return self.headers.get('X-Forwarded-Proto', 'http')

    @property
    def host(self):
        return self.headers.get('Host', 'localhost')

    @property
    def full_path(self):
        return '%s?%s' % (self.path, self.query_string.decode('latin-1'))

    @property
    def host_url(self):
        return '%s://%s/' % (self.scheme, self.host)

    @property
    def url_root(self):
        return self.host_url

    @property
    def base_url(self):
        return '%s://%s%s' % (self.scheme, self.host, self.path)

    @property
    def url(self):
        qs = self.query_string.decode('latin-1')
        return self.base_url + ('?' + qs if qs else '')

    @property
    def content_type(self):
        return self.headers.get('Content-Type')

    @property
    def mimetype(self):
        return (self.content_type or '').split(';')[0].strip().lower()

    @property
    def mimetype_params(self):
        parts = (self.content_type or '').split(';')[1:]
        return dict(p.strip().split('=', 1) for p in parts if '=' in p)

    @property
    def content_length(self):
        return len(self._data)

    @property
    def is_json(self):
        mt = self.mimetype
        return mt == 'application/json' or (mt.startswith('application/') and mt.endswith('+json'))

    @property
    def data(self):
        return self._data

    @property
    def stream(self):
        return io.BytesIO(self._data)

    def get_data(self, cache=True, as_text=False, parse_form_data=False):
        return self._data.decode(self.mimetype_params.get('charset', 'utf-8'), 'replace') if as_text else self._data

    def get_json(self, force=False, silent=False, cache=True):
        if not (force or self.is_json):
            if silent:
                return None
            abort(415, 'Did not attempt to load JSON data because the request Content-Type was not \'application/json\'.')
        try:
            return _json.loads(self._data or b'null')
        except ValueError:
            if silent:
                return None
            abort(400, 'Failed to decode JSON object')

    @property
    def json(self):
        return self.get_json()

    @property
    def form(self):
        if self.mimetype == 'application/x-www-form-urlencoded':
            return MultiDict(parse_qsl(self._data.decode('utf-8', 'replace'), keep_blank_values=True))
        return MultiDict()

    @property
    def values(self):
        return MultiDict(list(self.args.items(multi=True)) + list(self.form.items(multi=True)))

    @property
    def cookies(self):
        out = {}
        for part in (self.headers.get('Cookie') or '').split(';'):
            if '=' in part:
                k, v = part.split('=', 1)
                out.setdefault(k.strip(), v.strip())
        return out

    @property
    def environ(self):
        env = {'REQUEST_METHOD': self.method, 'PATH_INFO': self.path, 'QUERY_STRING': self.query_string.decode('latin-1'),
               'REMOTE_ADDR': self.remote_addr or '', 'wsgi.url_scheme': self.scheme}
        for k, v in self.headers:
            env['HTTP_' + k.upper().replace('-', '_')] = v
        return env


class _Proxy:
    """`request` reads the request of the call in progress (per thread and per task)."""

    def __init__(self, get):
        object.__setattr__(self, '_get', get)

    def __getattr__(self, name):
        return getattr(self._get(), name)

    def __setattr__(self, name, value):
        setattr(self._get(), name, value)

    def __repr__(self):
        try:
            return repr(self._get())
        except RuntimeError:
            return '<unbound flask.request>'

    def __bool__(self):
        try:
            self._get()
            return True
        except RuntimeError:
            return False


def _request():
    try:
        return _current.get()
    except LookupError:
        raise RuntimeError('Working outside of request context: flask.request is there while the function is serving a request')


def _g():
    try:
        return _globals.get()
    except LookupError:
        raise RuntimeError('Working outside of application context')


request = _Proxy(_request)
g = _Proxy(_g)


class _App:
    name = 'kiln-fission-function'

    def __init__(self):
        self.logger = logging.getLogger('function')
        self.config = {}
        self.debug = False


current_app = _App()

_REASONS = {200: 'OK', 201: 'CREATED', 202: 'ACCEPTED', 204: 'NO CONTENT', 301: 'MOVED PERMANENTLY', 302: 'FOUND',
            304: 'NOT MODIFIED', 400: 'BAD REQUEST', 401: 'UNAUTHORIZED', 403: 'FORBIDDEN', 404: 'NOT FOUND',
            405: 'METHOD NOT ALLOWED', 409: 'CONFLICT', 415: 'UNSUPPORTED MEDIA TYPE', 422: 'UNPROCESSABLE ENTITY',
            429: 'TOO MANY REQUESTS', 500: 'INTERNAL SERVER ERROR', 502: 'BAD GATEWAY', 503: 'SERVICE UNAVAILABLE'}


class Response:
    """A response as Flask's: a body (str, bytes or an iterable of them), a status and headers."""

    default_mimetype = 'text/html'

    def __init__(self, response=None, status=None, headers=None, mimetype=None, content_type=None):
        self.headers = headers if isinstance(headers, Headers) else Headers(_header_pairs(headers))
        if content_type is None:
            mt = mimetype or self.default_mimetype
            content_type = mt + '; charset=utf-8' if mt.startswith('text/') and 'charset' not in mt else mt
        if 'Content-Type' not in self.headers:
            self.headers.set('Content-Type', content_type)
        self.status_code = 200
        if status is not None:
            self.status = status
        self.response = None
        self._data = b''
        if response is None:
            self._data = b''
        elif isinstance(response, (str, bytes, bytearray)):
            self.set_data(response)
        else:
            self.response = response

    @property
    def status(self):
        return '%d %s' % (self.status_code, _REASONS.get(self.status_code, 'UNKNOWN'))

    @status.setter
    def status(self, value):
        self.status_code = int(str(value).split(' ', 1)[0])

    @property
    def mimetype(self):
        return (self.headers.get('Content-Type') or '').split(';')[0].strip()

    @property
    def content_type(self):
        return self.headers.get('Content-Type')

    def set_data(self, value):
        self._data = value.encode('utf-8') if isinstance(value, str) else bytes(value)
        self.response = None

    def get_data(self, as_text=False):
        if self.response is not None:
            self._data = b''.join(c.encode('utf-8') if isinstance(c, str) else bytes(c) for c in self.response)
            self.response = None
        return self._data.decode('utf-8', 'replace') if as_text else self._data

    data = property(get_data, set_data)

    @property
    def is_streamed(self):
        return self.response is not None

    def set_cookie(self, key, value='', max_age=None, path='/', domain=None, secure=False, httponly=False, samesite=None):
        parts = ['%s=%s' % (key, value), 'Path=%s' % path]
        if max_age is not None:
            parts.append('Max-Age=%d' % int(max_age))
        if domain:
            parts.append('Domain=%s' % domain)
        if secure:
            parts.append('Secure')
        if httponly:
            parts.append('HttpOnly')
        if samesite:
            parts.append('SameSite=%s' % samesite)
        self.headers.add('Set-Cookie', '; '.join(parts))


def _header_pairs(headers):
    if not headers:
        return []
    if isinstance(headers, Headers):
        return headers.items()
    items = headers.items() if isinstance(headers, dict) else headers
    return [(str(k), str(v)) for k, v in items]


class HTTPException(Exception):
    """What abort() raises: served as a response of its status (as werkzeug's HTTPException is)."""

    def __init__(self, code, description=None, response=None):
        super().__init__(description or _REASONS.get(code, ''))
        self.code = code
        self.description = description
        self.response = response

    def get_response(self, environ=None):
        if self.response is not None:
            return self.response
        name = _REASONS.get(self.code, 'Error').title()
        text = '<!doctype html>\n<html lang=en>\n<title>%d %s</title>\n<h1>%s</h1>\n<p>%s</p>\n' % (self.code, name, name, self.description or '')
        return Response(text, self.code)


def abort(status, *args, **kwargs):
    if isinstance(status, Response):
        raise HTTPException(status.status_code, response=status)
    raise HTTPException(int(status), args[0] if args else kwargs.get('description'))


def jsonify(*args, **kwargs):
    if args and kwargs:
        raise TypeError('jsonify() behavior undefined when passed both args and kwargs')
    data = args[0] if len(args) == 1 else (list(args) if args else kwargs)
    return Response(_json.dumps(data, separators=(',', ':')) + '\n', mimetype='application/json')


def make_response(*args):
    if not args:
        return Response()
    return to_response(args[0] if len(args) == 1 else tuple(args))


def to_response(rv):
    """A view's return value as a Response, by Flask's rules (str/bytes, dict/list as JSON, tuples, iterables)."""
    status = headers = None
    if isinstance(rv, tuple):
        if len(rv) == 3:
            rv, status, headers = rv
        elif len(rv) == 2:
            rv, second = rv
            if isinstance(second, (Headers, dict, list, tuple)):
                headers = second
            else:
                status = second
        else:
            raise TypeError('The view function did not return a valid response tuple: (body, status, headers), (body, status) or (body, headers)')
    if rv is None:
        raise TypeError('The view function did not return a valid response: it returned None (return a str, bytes, dict, list, tuple or Response)')
    if isinstance(rv, Response):
        r = rv
    elif isinstance(rv, (str, bytes, bytearray)):
        r = Response(rv)
    elif isinstance(rv, (dict, list)):
        r = jsonify(rv)
    elif hasattr(rv, '__iter__') or hasattr(rv, '__next__'):
        r = Response(rv)
    else:
        raise TypeError('The view function did not return a valid response: %s is not one (return a str, bytes, dict, list, tuple or Response)' % type(rv).__name__)
    if status is not None:
        r.status = status
    for k, v in _header_pairs(headers):
        r.headers.set(k, v)
    return r


def _bind(req):
    """Binds `request` (and a fresh `g`) to the call in progress; returns what unbinds them."""
    return (_current.set(req), _globals.set(types.SimpleNamespace()))


def _unbind(tokens):
    _current.reset(tokens[0])
    _globals.reset(tokens[1])
