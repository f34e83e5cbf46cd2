"""The runtime's HTTP application: one task per connection (keep-alive, requests in order), the platform
endpoints (/healthz, /v1/specialize, /v1/unload) and invocation of the specialized function."""

import asyncio
import concurrent.futures
import errno
import json
import os
import sys
import time
import traceback

from .fetch import fetch_code
from . import loader
from .errors import KilnError
from .http11 import Body, read_head, write_full, write_stream_head, write_chunk, write_last_chunk
from .request import BodyStream, split_target
from .response import JSON, TEXT, BINARY, Response, to_json, has_header
from .shapes import ADAPTERS, SHAPES, Incoming

SPECIALIZE_MAX = 1024 * 1024
DRAIN_LIMIT = 1024 * 1024  # unread body bytes skipped to keep a connection; past this it is closed
_END = object()


class FunctionTimeout(Exception):
    pass


def _next_sync(it):
    try:
        return next(it)
    except StopIteration:
        return _END


def _chunk_bytes(chunk):
    if isinstance(chunk, str):
        return chunk.encode()
    if isinstance(chunk, (bytes, bytearray, memoryview)):
        return bytes(chunk)
    return to_json(chunk)


class App:
    def __init__(self, runtime, max_body, threads):
        self.runtime = runtime
        self.max_body = max_body
        self.threads = threads
        self.started = time.monotonic()
        self.fn = None
        self.dirty = []            # sticky: reasons an earlier function left the process unclean
        self.lock = asyncio.Lock()
        self.loop = asyncio.get_running_loop()
        self.executor = self._new_executor()
        self.tasks = {asyncio.current_task()}
        self.conn_fds = set()
        self.in_flight = 0
        self.on_exhausted = None   # set by server.py: stop and exit (EMFILE)
        self.is_exhausted = False

    def _new_executor(self):
        return concurrent.futures.ThreadPoolExecutor(self.threads, thread_name_prefix='kiln-call')

    # --- connections -------------------------------------------------------------------------------------

    async def handle_connection(self, reader, writer):
        task = asyncio.current_task()
        self.tasks.add(task)
        sock = writer.get_extra_info('socket')
        fd = sock.fileno() if sock is not None else -1
        self.conn_fds.add(fd)
        peer = writer.get_extra_info('peername')
        peer = peer[0] if peer else None
        try:
            while True:
                try:
                    head = await read_head(reader)
                except KilnError as e:
                    self._send_json(writer, e.status, e.payload(), False)
                    await writer.drain()
                    break
                if head is None:
                    break
                body = Body(reader, writer, head)
                keep = await self.dispatch(head, body, writer, peer)
                if keep and not body.done:
                    keep = await body.drain(DRAIN_LIMIT)
                if not keep:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, KilnError):
            pass
        except Exception:
            traceback.print_exc()
        finally:
            self.tasks.discard(task)
            self.conn_fds.discard(fd)
            try:
                writer.close()
            except Exception:
                pass

    def _send_json(self, writer, status, payload, keep, head_only=False):
        write_full(writer, status, [('content-type', JSON)], to_json(payload), keep, head_only)

    async def dispatch(self, head, body, writer, peer):
        path, qs = split_target(head.target)
        if path == '/healthz' or path.startswith('/healthz/') or path.startswith('/v1/') or path == '/v1':
            try:
                status, payload = await self.platform(head.method, path, body)
            except KilnError as e:
                status, payload = e.status, e.payload()
            keep = head.keep_alive and (body.done or status < 400)
            self._send_json(writer, status, payload, keep, head.method == 'HEAD')
            await writer.drain()
            return keep
        return await self.invoke(head, body, writer, peer, path, qs)

    # --- platform endpoints ------------------------------------------------------------------------------

    async def platform(self, method, path, body):
        if path == '/healthz' or path.startswith('/healthz/'):
            if method not in ('GET', 'HEAD'):
                raise KilnError('KILN_ERR_METHOD_NOT_ALLOWED')
            return (503 if self.is_exhausted else 200), self.health()
        if path == '/v1/specialize':
            if method != 'POST':
                raise KilnError('KILN_ERR_METHOD_NOT_ALLOWED')
            return await self.specialize(await body.read_all(SPECIALIZE_MAX))
        if path == '/v1/unload':
            if method != 'POST':
                raise KilnError('KILN_ERR_METHOD_NOT_ALLOWED')
            return await self.unload()
        raise KilnError('KILN_ERR_NOT_FOUND')

    def health(self):
        fn = self.fn
        clean = not self.dirty and (fn is None or not loader.leftovers(fn, self.tasks, self.conn_fds))
        return {
            'state': 'exhausted' if self.is_exhausted else 'generic' if fn is None else 'specialized',
            'runtime': self.runtime,
            'function': None if fn is None else fn.describe(),
            'pid': os.getpid(),
            'uptimeMs': round((time.monotonic() - self.started) * 1000, 1),
            'requests': 0 if fn is None else fn.requests,
            'clean': clean,
        }

    async def specialize(self, raw):
        spec = _parse_specialize(raw)
        async with self.lock:
            fn = self.fn
            if fn is not None:
                if fn.sha256 == spec['sha256'] and fn.name == spec['name']:
                    return 200, {'state': 'specialized', 'function': fn.describe(), 'loadMs': 0}
                raise KilnError('KILN_ERR_ALREADY_SPECIALIZED', 'already specialized with %s (sha256 %s)'
                                % (fn.name, fn.sha256))
            started = time.perf_counter()
            if spec['path'] is None:
                # code.url: the platform shares no file system with this instance (a pod elsewhere).
                spec['path'] = await asyncio.get_running_loop().run_in_executor(None, fetch_code, spec['url'], spec['sha256'])
            fn = loader.load(spec)  # on the loop thread: imports run where module code expects them to
            self.fn = fn
            load_ms = round((time.perf_counter() - started) * 1000, 2)
            return 200, {'state': 'specialized', 'function': fn.describe(), 'loadMs': load_ms}

    async def unload(self):
        async with self.lock:
            fn = self.fn
            if fn is not None:
                self.fn = None
                found = loader.leftovers(fn, self.tasks, self.conn_fds)
                if self.in_flight:
                    found.append('%d request(s) still in flight' % self.in_flight)
                loader.unload(fn)
                if fn.running_sync:
                    self.executor.shutdown(wait=False)
                    self.executor = self._new_executor()
                if found:
                    self.dirty.extend(found)
                    print('kiln: %s unloaded, not clean: %s' % (fn.name, '; '.join(found)), file=sys.stderr)
            return 200, {'state': 'generic', 'clean': not self.dirty, 'reasons': list(self.dirty)}

    # --- invocation --------------------------------------------------------------------------------------

    async def invoke(self, head, body, writer, peer, path, qs):
        fn = self.fn
        keep = head.keep_alive
        head_only = head.method == 'HEAD'
        if fn is None:
            self._send_json(writer, 503, KilnError('KILN_ERR_NOT_SPECIALIZED').payload(), keep, head_only)
            await writer.drain()
            return keep
        fn.requests += 1
        self.in_flight += 1
        try:
            try:
                data = BodyStream(body, self.loop) if fn.stream else await body.read_all(self.max_body)
                inc = Incoming(head.method, head.target, path, qs, head.headers, head.raw_headers, data, peer)
                make_args, to_response = ADAPTERS[fn.shape]
                args = make_args(fn, inc)
            except KilnError as e:
                keep = keep and body.done
                self._send_json(writer, e.status, e.payload(), keep, head_only)
                await writer.drain()
                return keep
            try:
                response = to_response(await self.call(fn, args))
                return await self.send(fn, response, head, writer)
            except FunctionTimeout:
                self._send_json(writer, 504, KilnError(
                    'KILN_ERR_FUNCTION_TIMEOUT', 'function %s did not return within %d ms'
                    % (fn.name, fn.timeout * 1000), function=fn.name).payload(), keep, head_only)
            except (ConnectionError, asyncio.CancelledError):
                raise
            except BaseException as e:  # SystemExit from sys.exit() in the function is its error too
                if isinstance(e, KeyboardInterrupt):
                    raise
                self._function_error(fn, e)
                self._send_json(writer, 500, {'error': 'KILN_ERR_FUNCTION_ERROR', 'function': fn.name,
                                              'message': str(e)}, keep, head_only)
            await writer.drain()
            return keep
        finally:
            self.in_flight -= 1

    def _function_error(self, fn, exc):
        sys.stderr.write('kiln: function %s raised:\n%s' % (
            fn.name, ''.join(traceback.format_exception(type(exc), exc, exc.__traceback__))))
        sys.stderr.flush()
        if _fd_exhaustion(exc):
            self.exhausted('function %s' % fn.name)

    def exhausted(self, what):
        """Out of file descriptors: nothing this process serves will work any more; it makes way."""
        if self.is_exhausted:
            return
        self.is_exhausted = True
        if self.on_exhausted:
            self.on_exhausted(what)

    async def call(self, fn, args):
        """The function's return value; FunctionTimeout past fn.timeout (a sync call keeps its thread)."""
        deadline = None if not fn.timeout else self.loop.time() + fn.timeout
        if fn.is_async:
            result = fn.handler(*args)
        else:
            cf = self.executor.submit(fn.handler, *args)
            fn.running_sync += 1
            cf.add_done_callback(lambda _: self._threadsafe(_settled, fn))
            result = await self._within(asyncio.wrap_future(cf), deadline, cancel=False)
        if hasattr(result, '__await__'):
            result = await self._within(result, deadline)
        return result

    async def _within(self, awaitable, deadline, cancel=True):
        if deadline is None:
            return await awaitable
        fut = asyncio.ensure_future(awaitable)
        done, _ = await asyncio.wait((fut,), timeout=max(0, deadline - self.loop.time()))
        if not done:
            if cancel:
                fut.cancel()
            else:  # a thread cannot be stopped: let it finish, and swallow what it ends with
                fut.add_done_callback(_retrieve)
            raise FunctionTimeout()
        return fut.result()

    def _threadsafe(self, callback, *args):
        try:
            self.loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop is closed: the process is exiting
            pass

    async def send(self, fn, r, head, writer):
        keep = head.keep_alive
        head_only = head.method == 'HEAD'
        if r.stream is None:
            write_full(writer, r.status, r.headers, r.body, keep, head_only)
            await writer.drain()
            return keep
        it = r.stream
        is_async = hasattr(it, '__aiter__')
        if is_async:
            it = it.__aiter__()
        chunk = await self._next(it, is_async)  # before the head: an error here is still a clean 500
        if not has_header(r.headers, 'content-type'):
            r.headers.append(('content-type', TEXT if isinstance(chunk, str) else BINARY))
        chunked = head.version == 'HTTP/1.1'
        keep = keep and chunked
        write_stream_head(writer, r.status, r.headers, keep, chunked)
        try:
            if not head_only:
                while chunk is not _END:
                    write_chunk(writer, _chunk_bytes(chunk), chunked)
                    await writer.drain()
                    chunk = await self._next(it, is_async)
                write_last_chunk(writer, chunked)
            await writer.drain()
            return keep
        except (ConnectionError, asyncio.CancelledError):
            raise
        except Exception as e:  # mid-stream: the head is gone; end the connection without the last chunk
            self._function_error(fn, e)
            return False
        finally:
            await self._close_iter(it, is_async)

    async def _next(self, it, is_async):
        if is_async:
            try:
                return await it.__anext__()
            except StopAsyncIteration:
                return _END
        return await self.loop.run_in_executor(self.executor, _next_sync, it)

    async def _close_iter(self, it, is_async):
        try:
            if is_async:
                aclose = getattr(it, 'aclose', None)
                if aclose:
                    await aclose()
            else:
                close = getattr(it, 'close', None)
                if close:
                    close()
        except Exception:
            pass


def _fd_exhaustion(exc):
    for _ in range(5):
        if exc is None:
            return False
        if isinstance(exc, OSError) and exc.errno in (errno.EMFILE, errno.ENFILE):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _settled(fn):
    fn.running_sync -= 1


def _retrieve(fut):
    if not fut.cancelled():
        fut.exception()  # retrieved, so a timed-out call's late error is not logged as "never retrieved"


def _parse_specialize(raw):
    def bad(message):
        return KilnError('KILN_ERR_BAD_SPECIALIZE', message)
    try:
        doc = json.loads(raw or b'null')
    except ValueError as e:
        raise bad('body is not JSON: %s' % e)
    if not isinstance(doc, dict):
        raise bad('body must be a JSON object {function, code}')
    f, c = doc.get('function'), doc.get('code')
    if not isinstance(f, dict) or not isinstance(c, dict):
        raise bad('function and code must be objects')
    name = f.get('name')
    if not isinstance(name, str) or not name:
        raise bad('function.name must be a non-empty string')
    entrypoint = f.get('entrypoint')
    if entrypoint is not None and not isinstance(entrypoint, str):
        raise bad('function.entrypoint must be a string')
    env = f.get('env')
    if env is not None and not isinstance(env, dict):
        raise bad('function.env must be an object')
    timeout = f.get('timeoutMs')
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0):
        raise bad('function.timeoutMs must be a number >= 0')
    shape = f.get('shape') or 'kiln'
    if shape not in SHAPES:
        raise bad('function.shape must be one of %s' % ', '.join(SHAPES))
    path = c.get('path')
    url = c.get('url')
    if (not isinstance(path, str) or not path) and (not isinstance(url, str) or not url):
        raise bad('code.path or code.url is required')
    sha = c.get('sha256')
    if not isinstance(sha, str) or not sha:
        raise bad('code.sha256 must be a non-empty string')
    version = f.get('version')
    return {
        'name': name, 'version': None if version is None else str(version), 'entrypoint': entrypoint,
        'env': env, 'timeout': (timeout / 1000.0) if timeout else None, 'shape': shape, 'path': path or None, 'sha256': sha,
        'url': url if not path else None,
    }
