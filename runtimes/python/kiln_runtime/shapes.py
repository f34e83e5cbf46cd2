"""Calling conventions (`function.shape`): how a request becomes the function's arguments and how its return
value becomes a response. kiln (= fission), openfaas (the python3-http template), lambda (API Gateway HTTP API,
payload format 2.0)."""

import base64
import os
import time

from . import response as resp
from .request import Request, parse_body, parse_params, parse_query, media_type, is_json_type

SHAPES = ('kiln', 'fission', 'openfaas', 'lambda')

# Function names tried, in order, when the entrypoint names none.
DEFAULT_NAMES = {
    'kiln': ('main', 'handler', 'handle'),
    'fission': ('main', 'handler', 'handle'),
    'openfaas': ('handle', 'main', 'handler'),
    'lambda': ('handler', 'lambda_handler', 'main', 'handle'),
}


class Incoming:
    """One request as the server read it. `body` is bytes, or a BodyStream for a streaming function."""

    __slots__ = ('method', 'target', 'path', 'qs', 'headers', 'raw_headers', 'body', 'peer')

    def __init__(self, method, target, path, qs, headers, raw_headers, body, peer):
        self.method = method
        self.target = target
        self.path = path
        self.qs = qs
        self.headers = headers
        self.raw_headers = raw_headers
        self.body = body
        self.peer = peer


# --- kiln / fission -------------------------------------------------------------------------------------

def kiln_args(fn, inc):
    body = inc.body
    if isinstance(body, (bytes, bytearray)):
        body = parse_body(body, inc.headers.get('content-type'))
    req = Request(inc.method, inc.target, inc.path, parse_query(inc.qs), parse_params(inc.headers),
                  inc.headers, body)
    return (req,)


def fission_args(fn, inc):
    # A Fission-environment handler reads the request through flask.request (fission_flask.py).
    return (inc,) if fn.flask else kiln_args(fn, inc)


def fission_response(res):
    return res if isinstance(res, resp.Response) else resp.from_value(res)


# --- openfaas ------------------------------------------------------------------------------------------

class Headers(dict):
    """Lower-case keys; lookups ignore case (like the Flask headers the template hands over)."""

    def __getitem__(self, key):
        return dict.__getitem__(self, key.lower())

    def get(self, key, default=None):
        return dict.get(self, key.lower(), default)

    def __contains__(self, key):
        return dict.__contains__(self, key.lower())


class Query(dict):
    """First value per key, like werkzeug's MultiDict; getlist() gives them all."""

    def __init__(self, pairs):
        super().__init__()
        self._lists = {}
        for key, value in pairs:
            self._lists.setdefault(key, []).append(value)
            if key not in self:
                dict.__setitem__(self, key, value)

    def getlist(self, key):
        return list(self._lists.get(key, ()))


class Event:
    __slots__ = ('body', 'headers', 'method', 'query', 'path')

    def __init__(self, body, headers, method, query, path):
        self.body = body
        self.headers = headers
        self.method = method
        self.query = query
        self.path = path


class OpenFaasContext:
    def __init__(self):
        self.hostname = os.environ.get('HOSTNAME', 'localhost')


def _one_argument(handler):
    import inspect
    try:
        params = [p for p in inspect.signature(handler).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty]
    except (TypeError, ValueError):
        return False
    return len(params) == 1


def openfaas_args(fn, inc):
    # The classic python3 / python3-flask templates: `handle(req)` with the body as text.
    if fn.__dict__.setdefault('_of_one_arg', _one_argument(fn.handler)):
        body = inc.body if isinstance(inc.body, (bytes, bytearray)) else b''
        return (body.decode('utf-8', 'replace'),)
    from urllib.parse import parse_qsl
    query = Query(parse_qsl(inc.qs, keep_blank_values=True))
    return (Event(inc.body, Headers(inc.headers), inc.method, query, inc.path), OpenFaasContext())


def openfaas_response(res):
    """As the template's index.py formats it (Flask's defaults: text/html for text, JSON for a dict body)."""
    html = 'text/html; charset=utf-8'
    if res is None:
        return resp.Response(200, [('content-type', html)], b'')
    if isinstance(res, tuple):
        body, status = res[0], (res[1] if len(res) > 1 else 200)
        headers = resp.header_list(res[2] if len(res) > 2 else None)
        return _openfaas_body(status, headers, body, html)
    if isinstance(res, dict):
        headers = resp.header_list(res.get('headers'))
        return _openfaas_body(res.get('statusCode', 200), headers, res.get('body', ''), html)
    return _openfaas_body(200, [], res, html)


def _openfaas_body(status, headers, body, html):
    if isinstance(body, (dict, list)):
        data, ctype = resp.to_json(body), 'application/json'
    elif isinstance(body, (bytes, bytearray, memoryview)):
        data, ctype = bytes(body), html
    elif resp.is_stream(body):
        return resp.Response(int(status), headers, b'', body)
    else:
        data, ctype = ('' if body is None else str(body)).encode(), html
    if not resp.has_header(headers, 'content-type'):
        headers.append(('content-type', ctype))
    return resp.Response(int(status), headers, data)


# --- lambda (API Gateway HTTP API, payload format 2.0) ---------------------------------------------------

def _is_text(ctype):
    mtype, _ = media_type(ctype)
    return (mtype.startswith('text/') or is_json_type(mtype) or mtype.endswith('xml')
            or mtype in ('application/javascript', 'application/x-www-form-urlencoded', 'application/graphql'))


class LambdaContext:
    def __init__(self, fn, request_id, deadline):
        self.function_name = fn.name
        self.function_version = str(fn.version or '$LATEST')
        self.invoked_function_arn = 'arn:aws:lambda:local:000000000000:function:' + fn.name
        self.memory_limit_in_mb = os.environ.get('AWS_LAMBDA_FUNCTION_MEMORY_SIZE', '128')
        self.aws_request_id = request_id
        self.log_group_name = '/aws/lambda/' + fn.name
        self.log_stream_name = 'kiln/%d' % os.getpid()
        self.identity = None
        self.client_context = None
        self._deadline = deadline

    def get_remaining_time_in_millis(self):
        if self._deadline is None:
            return 900000
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def lambda_args(fn, inc):
    headers = {}
    cookies = []
    for name, value in inc.raw_headers:
        if name == 'cookie':
            cookies.extend(c.strip() for c in value.split(';') if c.strip())
            continue
        headers[name] = headers[name] + ',' + value if name in headers else value
    query = {}
    if inc.qs:
        from urllib.parse import parse_qsl
        for key, value in parse_qsl(inc.qs, keep_blank_values=True):
            query[key] = query[key] + ',' + value if key in query else value
    request_id = inc.headers.get('x-request-id')
    if not request_id:
        import uuid
        request_id = str(uuid.uuid4())
    now = time.time()
    forwarded = inc.headers.get('x-forwarded-for', '')
    source_ip = forwarded.split(',')[0].strip() if forwarded else (inc.peer or '')
    host = inc.headers.get('host', 'localhost')
    event = {
        'version': '2.0',
        'routeKey': '$default',
        'rawPath': inc.path,
        'rawQueryString': inc.qs,
        'headers': headers,
        'requestContext': {
            'accountId': '000000000000',
            'apiId': 'kiln',
            'domainName': host,
            'domainPrefix': host.split('.')[0],
            'http': {
                'method': inc.method,
                'path': inc.path,
                'protocol': 'HTTP/1.1',
                'sourceIp': source_ip,
                'userAgent': inc.headers.get('user-agent', ''),
            },
            'requestId': request_id,
            'routeKey': '$default',
            'stage': '$default',
            'time': time.strftime('%d/%b/%Y:%H:%M:%S +0000', time.gmtime(now)),
            'timeEpoch': int(now * 1000),
        },
        'isBase64Encoded': False,
    }
    if cookies:
        event['cookies'] = cookies
    if query:
        event['queryStringParameters'] = query
    params = parse_params(inc.headers)
    if params:
        event['pathParameters'] = {k: str(v) for k, v in params.items()}
    body = inc.body
    if isinstance(body, (bytes, bytearray)):
        if body:
            if _is_text(inc.headers.get('content-type')):
                event['body'] = body.decode('utf-8', 'replace')
            else:
                event['body'] = base64.b64encode(body).decode('ascii')
                event['isBase64Encoded'] = True
    else:
        event['body'] = body  # a streaming function reads the BodyStream itself
    deadline = None if not fn.timeout else time.monotonic() + fn.timeout
    return (event, LambdaContext(fn, request_id, deadline))


def lambda_response(res):
    if isinstance(res, dict) and 'statusCode' in res:
        headers = resp.header_list(res.get('headers'))
        multi = res.get('multiValueHeaders')
        if multi:
            headers.extend(resp.header_list(multi))
        for cookie in res.get('cookies') or ():
            headers.append(('set-cookie', str(cookie)))
        body = res.get('body')
        if body is None:
            data = b''
        elif res.get('isBase64Encoded'):
            data = base64.b64decode(body)
        elif isinstance(body, str):
            data = body.encode()
        elif isinstance(body, (bytes, bytearray)):
            data = bytes(body)
        else:
            data = resp.to_json(body)
        if data and not resp.has_header(headers, 'content-type'):
            headers.append(('content-type', 'application/json'))
        return resp.Response(int(res['statusCode']), headers, data)
    return resp.Response(200, [('content-type', 'application/json')], resp.to_json(res))


ADAPTERS = {
    'kiln': (kiln_args, resp.from_value),
    'fission': (fission_args, fission_response),
    'openfaas': (openfaas_args, openfaas_response),
    'lambda': (lambda_args, lambda_response),
}
