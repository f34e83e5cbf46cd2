"""The runtime's error catalogue: each KILN_ERR_* once, with its HTTP status and default message."""

CATALOGUE = {
    'KILN_ERR_BAD_REQUEST': (400, 'malformed HTTP request'),
    'KILN_ERR_BAD_BODY': (400, 'the request body does not parse as its content-type says'),
    'KILN_ERR_BAD_SPECIALIZE': (400, 'malformed specialize request'),
    'KILN_ERR_NOT_FOUND': (404, 'no such platform endpoint'),
    'KILN_ERR_METHOD_NOT_ALLOWED': (405, 'method not allowed on this platform endpoint'),
    'KILN_ERR_ALREADY_SPECIALIZED': (409, 'the instance is already specialized with another function'),
    'KILN_ERR_BODY_TOO_LARGE': (413, 'request body larger than KILN_MAX_BODY'),
    'KILN_ERR_HEADERS_TOO_LARGE': (431, 'request head larger than 64 KiB'),
    'KILN_ERR_LOAD_FAILED': (422, 'the function code cannot be loaded'),
    'KILN_ERR_FUNCTION_ERROR': (500, 'the function raised an exception'),
    'KILN_ERR_NOT_SPECIALIZED': (503, 'the instance has no function loaded'),
    'KILN_ERR_FUNCTION_TIMEOUT': (504, 'the function did not return within its timeout'),
    'KILN_ERR_HTTP_VERSION': (505, 'only HTTP/1.0 and HTTP/1.1 are supported'),
}


class KilnError(Exception):
    """An error with a catalogue code; `extra` fields are added to the JSON answer."""

    def __init__(self, code, message=None, **extra):
        status, default = CATALOGUE[code]
        super().__init__(message or default)
        self.code = code
        self.status = status
        self.message = message or default
        self.extra = extra

    def payload(self):
        out = {'error': self.code}
        out.update(self.extra)
        out['message'] = self.message
        return out
