"""HTTP/1.1 over asyncio streams: the request head, request bodies (content-length or chunked), responses
(content-length or chunked). Small on purpose: the router in front is the only client."""

import asyncio

from .errors import KilnError

MAX_HEAD = 64 * 1024
READ_CHUNK = 256 * 1024
_HEX = frozenset(b'0123456789abcdefABCDEF')

# Like Node's http module: these keep their first value when repeated, set-cookie stays a list,
# cookie joins with '; ', every other repeated header joins with ', '.
_SINGLE = frozenset((
    'age', 'authorization', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host',
    'if-modified-since', 'if-unmodified-since', 'last-modified', 'location', 'max-forwards',
    'proxy-authorization', 'referer', 'retry-after', 'server', 'user-agent',
))

REASONS = {
    100: 'Continue', 200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content', 206: 'Partial Content',
    301: 'Moved Permanently', 302: 'Found', 303: 'See Other', 304: 'Not Modified', 307: 'Temporary Redirect',
    308: 'Permanent Redirect', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found',
    405: 'Method Not Allowed', 409: 'Conflict', 413: 'Payload Too Large', 415: 'Unsupported Media Type',
    422: 'Unprocessable Entity', 429: 'Too Many Requests', 431: 'Request Header Fields Too Large',
    500: 'Internal Server Error', 501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable',
    504: 'Gateway Timeout', 505: 'HTTP Version Not Supported',
}


class RequestHead:
    __slots__ = ('method', 'target', 'version', 'headers', 'raw_headers', 'keep_alive', 'chunked', 'length',
                 'expect_continue')


async def read_head(reader):
    """The next request head on the connection, or None when the client closed it between requests."""
    try:
        data = await reader.readuntil(b'\r\n\r\n')
    except asyncio.IncompleteReadError as e:
        if not e.partial.strip():
            return None
        raise KilnError('KILN_ERR_BAD_REQUEST', 'connection closed inside the request head')
    except asyncio.LimitOverrunError:
        raise KilnError('KILN_ERR_HEADERS_TOO_LARGE')
    lines = data[:-4].lstrip(b'\r\n').split(b'\r\n')
    parts = lines[0].decode('latin-1').split(' ')
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise KilnError('KILN_ERR_BAD_REQUEST', 'bad request line')
    head = RequestHead()
    head.method, head.target, head.version = parts
    if head.version != 'HTTP/1.1' and head.version != 'HTTP/1.0':
        raise KilnError('KILN_ERR_HTTP_VERSION')
    raw = []
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(b':')
        if not sep or not name or name[-1:] in b' \t':
            raise KilnError('KILN_ERR_BAD_REQUEST', 'bad header line')
        name = name.decode('latin-1').lower()
        value = value.strip(b' \t').decode('latin-1')
        raw.append((name, value))
        old = headers.get(name)
        if old is None:
            headers[name] = [value] if name == 'set-cookie' else value
        elif name == 'set-cookie':
            old.append(value)
        elif name == 'content-length':
            if old != value:
                raise KilnError('KILN_ERR_BAD_REQUEST', 'conflicting content-length headers')
        elif name not in _SINGLE:
            headers[name] = old + ('; ' if name == 'cookie' else ', ') + value
    head.headers = headers
    head.raw_headers = raw
    conn = headers.get('connection', '').lower()
    if head.version == 'HTTP/1.1':
        head.keep_alive = 'close' not in conn
    else:
        head.keep_alive = 'keep-alive' in conn
    te = headers.get('transfer-encoding')
    if te is not None:
        if te.lower().rsplit(',', 1)[-1].strip() != 'chunked':
            raise KilnError('KILN_ERR_BAD_REQUEST', 'unsupported transfer-encoding')
        head.chunked = True
        head.length = None
        if 'content-length' in headers:  # RFC 9112 6.3: ignore it, and never reuse such a connection
            head.keep_alive = False
    else:
        head.chunked = False
        cl = headers.get('content-length')
        if cl is None:
            head.length = 0
        elif cl.isdigit() and cl.isascii():
            head.length = int(cl)
        else:
            raise KilnError('KILN_ERR_BAD_REQUEST', 'bad content-length')
    head.expect_continue = headers.get('expect', '').lower() == '100-continue'
    return head


class Body:
    """The request body as it arrives: read it whole (with a limit) or chunk by chunk."""

    __slots__ = ('_reader', '_writer', '_chunked', '_left', '_chunk_left', 'done', '_continue', 'received')

    def __init__(self, reader, writer, head):
        self._reader = reader
        self._writer = writer
        self._chunked = head.chunked
        self._left = head.length
        self._chunk_left = 0
        self.done = not head.chunked and head.length == 0
        self._continue = head.expect_continue and not self.done
        self.received = 0

    @property
    def declared_length(self):
        return None if self._chunked else self._left + self.received

    def _send_continue(self):
        self._continue = False
        self._writer.write(b'HTTP/1.1 100 Continue\r\n\r\n')

    async def read_chunk(self):
        """The next piece of the body; b'' at its end."""
        if self.done:
            return b''
        if self._continue:
            self._send_continue()
        reader = self._reader
        if not self._chunked:
            data = await reader.read(min(READ_CHUNK, self._left))
            if not data:
                raise KilnError('KILN_ERR_BAD_REQUEST', 'connection closed inside the request body')
            self._left -= len(data)
            self.received += len(data)
            if self._left == 0:
                self.done = True
            return data
        try:
            if self._chunk_left == 0:
                line = await reader.readuntil(b'\r\n')
                size = line[:-2].split(b';', 1)[0].strip()
                if not size or len(size) > 16 or not _HEX.issuperset(size):
                    raise KilnError('KILN_ERR_BAD_REQUEST', 'bad chunk size')
                size = int(size, 16)
                if size == 0:
                    while (await reader.readuntil(b'\r\n')) != b'\r\n':  # trailers, ignored
                        pass
                    self.done = True
                    return b''
                self._chunk_left = size
            data = await reader.read(min(READ_CHUNK, self._chunk_left))
            if not data:
                raise KilnError('KILN_ERR_BAD_REQUEST', 'connection closed inside the request body')
            self._chunk_left -= len(data)
            self.received += len(data)
            if self._chunk_left == 0 and await reader.readexactly(2) != b'\r\n':
                raise KilnError('KILN_ERR_BAD_REQUEST', 'bad chunk terminator')
            return data
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            raise KilnError('KILN_ERR_BAD_REQUEST', 'truncated chunked body')

    async def read_all(self, limit):
        """The whole body as bytes; KILN_ERR_BODY_TOO_LARGE past `limit` bytes."""
        if self.done:
            return b''
        if not self._chunked:
            if self._left > limit:
                raise KilnError('KILN_ERR_BODY_TOO_LARGE')
            if self._continue:
                self._send_continue()
            try:
                data = await self._reader.readexactly(self._left)
            except asyncio.IncompleteReadError:
                raise KilnError('KILN_ERR_BAD_REQUEST', 'connection closed inside the request body')
            self.received += self._left
            self._left = 0
            self.done = True
            return data
        parts = []
        total = 0
        while True:
            data = await self.read_chunk()
            if not data:
                return b''.join(parts)
            total += len(data)
            if total > limit:
                raise KilnError('KILN_ERR_BODY_TOO_LARGE')
            parts.append(data)

    async def drain(self, limit):
        """Skip up to `limit` unread bytes so the connection can serve the next request; False if more remain."""
        if self._continue:  # the client waits for our word before sending: nothing to skip
            return False
        skipped = 0
        while not self.done:
            if self._left is not None and not self._chunked and self._left > limit - skipped:
                return False
            data = await self.read_chunk()
            skipped += len(data)
            if skipped > limit:
                return False
        return True


def _head_bytes(status, headers, tail):
    out = ['HTTP/1.1 %d %s\r\n' % (status, REASONS.get(status, 'Unknown'))]
    for name, value in headers:
        out.append('%s: %s\r\n' % (name, value))
    out.append(tail)
    return ''.join(out).encode('latin-1')


def write_full(writer, status, headers, body, keep_alive, head_only=False):
    """A response whose body is known (bytes)."""
    tail = 'content-length: %d\r\n%s\r\n' % (len(body), '' if keep_alive else 'connection: close\r\n')
    if status == 204 or status == 304 or status < 200:
        tail = '' if keep_alive else 'connection: close\r\n'
        tail += '\r\n'
        body = b''
    writer.write(_head_bytes(status, headers, tail))
    if body and not head_only:
        writer.write(body)


def write_stream_head(writer, status, headers, keep_alive, chunked):
    tail = ''
    if chunked:
        tail += 'transfer-encoding: chunked\r\n'
    if not keep_alive:
        tail += 'connection: close\r\n'
    writer.write(_head_bytes(status, headers, tail + '\r\n'))


def write_chunk(writer, data, chunked):
    if not data:
        return
    if chunked:
        writer.write(b'%x\r\n' % len(data))
        writer.write(data)
        writer.write(b'\r\n')
    else:
        writer.write(data)


def write_last_chunk(writer, chunked):
    if chunked:
        writer.write(b'0\r\n\r\n')
