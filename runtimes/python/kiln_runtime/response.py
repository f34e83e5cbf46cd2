"""What a function returns, turned into an HTTP response: a `{status, headers, body}` dict, or shorthand
(str → text/plain, bytes → octet-stream, None → 204, generator / async generator → streamed, other → JSON)."""

import json

TEXT = 'text/plain; charset=utf-8'
BINARY = 'application/octet-stream'
JSON = 'application/json; charset=utf-8'
_RESPONSE_KEYS = frozenset(('status', 'statusCode', 'headers', 'body'))
_FRAMING = frozenset(('content-length', 'transfer-encoding', 'connection'))


class Response:
    """`body` is bytes, or `stream` is a (sync or async) iterator of str/bytes chunks."""

    __slots__ = ('status', 'headers', 'body', 'stream')

    def __init__(self, status, headers, body=b'', stream=None):
        self.status = status
        self.headers = headers
        self.body = body
        self.stream = stream


def json_default(value):
    to_dict = getattr(value, 'to_dict', None)
    if callable(to_dict):
        return to_dict()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode('utf-8', 'replace')
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if hasattr(value, '__dataclass_fields__'):
        import dataclasses
        return dataclasses.asdict(value)
    isoformat = getattr(value, 'isoformat', None)
    if callable(isoformat):
        return isoformat()
    raise TypeError('%s is not JSON serializable' % type(value).__name__)


def to_json(value):
    return json.dumps(value, default=json_default, separators=(',', ':')).encode()


def is_stream(value):
    if hasattr(value, '__aiter__'):
        return True
    return hasattr(value, '__next__') and not isinstance(value, (str, bytes, bytearray, dict, list))


def is_response_dict(value):
    """A dict is a response when it has only response keys and its status, if any, is an int."""
    if not isinstance(value, dict) or not value or not _RESPONSE_KEYS.issuperset(value.keys()):
        return False
    status = value.get('status', value.get('statusCode', 200))
    return isinstance(status, int) and not isinstance(status, bool)


def header_list(headers):
    """[(name, value)] from a dict (a list value repeats the header) or a list of pairs; framing headers are ours."""
    out = []
    if not headers:
        return out
    items = headers.items() if isinstance(headers, dict) else headers
    for name, value in items:
        name = str(name)
        if name.lower() in _FRAMING:
            continue
        values = value if isinstance(value, (list, tuple)) else (value,)
        for v in values:
            v = str(v)
            if '\r' in v or '\n' in v or '\r' in name or '\n' in name or ':' in name or not name:
                raise ValueError('invalid response header %r' % name)
            out.append((name, v))
    return out


def has_header(headers, name):
    return any(n.lower() == name for n, _ in headers)


def encode(value, headers):
    """(bytes, None) or (b'', stream) for a body value; adds a content-type when the function set none."""
    if value is None:
        return b'', None
    if isinstance(value, str):
        ctype, data, stream = TEXT, value.encode(), None
    elif isinstance(value, (bytes, bytearray, memoryview)):
        ctype, data, stream = BINARY, bytes(value), None
    elif is_stream(value):
        return b'', value  # its content-type is chosen from the first chunk
    else:
        ctype, data, stream = JSON, to_json(value), None
    if not has_header(headers, 'content-type'):
        headers.append(('content-type', ctype))
    return data, stream


def from_value(value):
    """The kiln (and fission) shape's return value as a Response."""
    if is_response_dict(value):
        status = value.get('status', value.get('statusCode', 200))
        if not 100 <= status <= 599:
            raise ValueError('invalid response status %r' % status)
        headers = header_list(value.get('headers'))
        body, stream = encode(value.get('body'), headers)
        return Response(status, headers, body, stream)
    if value is None:
        return Response(204, [])
    headers = []
    body, stream = encode(value, headers)
    return Response(200, headers, body, stream)
