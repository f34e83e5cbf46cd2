"""Kiln's Python runtime server (Python 3.11+, stdlib only): `python3 server.py`.

Implements docs/runtime-contract.md: PORT (0 = ephemeral), HOST, KILN_SOCKET (a Unix socket instead),
KILN_READY_FD, KILN_WATCH_STDIN, KILN_RUNTIME, KILN_MAX_BODY; GET /healthz, POST /v1/specialize,
POST /v1/unload, every other request to the function. KILN_PY_THREADS (default 64) sizes the worker pool
that sync functions run on. Out of file descriptors (EMFILE), it exits with status 70 so the platform
replaces it.
"""

import asyncio
import errno
import json
import os
import signal
import sys

if sys.version_info < (3, 11):
    sys.exit('kiln python runtime: Python 3.11 or newer is required')

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kiln_runtime.app import App  # noqa: E402
from kiln_runtime.http11 import MAX_HEAD  # noqa: E402

# Room for a burst of new connections from the platform (the kernel caps it at net.core.somaxconn):
# past it, a Unix socket's connect fails at once with EAGAIN.
BACKLOG = 4096


EXHAUSTED_EXIT = 70


def _int_env(name, default):
    raw = os.environ.get(name, '')
    try:
        return int(raw) if raw.strip() else default
    except ValueError:
        sys.exit('kiln python runtime: %s must be an integer, got %r' % (name, raw))


def _report_ready(where):
    fd = os.environ.get('KILN_READY_FD', '').strip()
    if not fd:
        return
    line = json.dumps(dict(where, pid=os.getpid())) + '\n'
    try:
        os.write(int(fd), line.encode())
        os.close(int(fd))
    except (OSError, ValueError) as e:
        print('kiln: cannot write the ready line to fd %s: %s' % (fd, e), file=sys.stderr)


def _exit_now(code=0):
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(code)  # worker threads of hung sync functions must not hold the exit


def _watch_stdin(loop):
    def on_readable():
        try:
            data = os.read(0, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b''
        if not data:
            _exit_now(0)
    try:
        os.set_blocking(0, False)
        loop.add_reader(0, on_readable)
    except (OSError, ValueError):  # not a pipe (a file, a tty without epoll support): a thread instead
        import threading

        def read_until_eof():
            while os.read(0, 65536):
                pass
            _exit_now(0)
        threading.Thread(target=read_until_eof, name='kiln-stdin', daemon=True).start()


async def serve():
    loop = asyncio.get_running_loop()
    host = os.environ.get('HOST') or '127.0.0.1'
    port = _int_env('PORT', 8888)
    app = App(os.environ.get('KILN_RUNTIME') or 'python', _int_env('KILN_MAX_BODY', 100 * 1024 * 1024),
              _int_env('KILN_PY_THREADS', 64))
    sock_path = os.environ.get('KILN_SOCKET') or None
    if sock_path:
        try:
            os.unlink(sock_path)
        except FileNotFoundError:
            pass
        server = await asyncio.start_unix_server(app.handle_connection, path=sock_path, limit=MAX_HEAD, backlog=BACKLOG)
        where = {'socket': sock_path}
    else:
        server = await asyncio.start_server(app.handle_connection, host, port, limit=MAX_HEAD, backlog=BACKLOG)
        where = {'port': server.sockets[0].getsockname()[1]}
    stop = asyncio.Event()

    def on_exhausted(what):
        print('kiln: out of file descriptors (%s): this instance exits so the platform replaces it' % what,
              file=sys.stderr)
        server.close()
        loop.call_later(0.2, _exit_now, EXHAUSTED_EXIT)
    app.on_exhausted = on_exhausted
    default_handler = loop.get_exception_handler()

    def on_loop_error(lp, context):
        exc = context.get('exception')
        if isinstance(exc, OSError) and exc.errno in (errno.EMFILE, errno.ENFILE):
            app.exhausted('accept')  # asyncio only logs a failed accept and retries later
        if default_handler:
            default_handler(lp, context)
        else:
            lp.default_exception_handler(context)
    loop.set_exception_handler(on_loop_error)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if os.environ.get('KILN_WATCH_STDIN') == '1':
        _watch_stdin(loop)
    _report_ready(where)
    await stop.wait()
    server.close()  # stop accepting; let requests in flight finish for a moment
    for _ in range(100):
        if not app.in_flight:
            break
        await asyncio.sleep(0.05)


def main():
    try:
        sys.stdout.reconfigure(line_buffering=True)  # the platform reads stdout line by line
    except Exception:
        pass
    try:
        asyncio.run(serve())
    except OSError as e:
        print('kiln python runtime: %s' % e, file=sys.stderr)
        _exit_now(1)
    _exit_now(0)


if __name__ == '__main__':
    main()
