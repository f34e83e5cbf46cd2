"""Specialization: find the entry file, import it with the package folder on sys.path and the function's env
applied, pick the callable; unload: drop the package's modules, restore env / sys.path / cwd, and judge
whether the process is still clean enough to go back to the generic pool."""

import builtins
import importlib
import importlib.machinery
import importlib.util
import inspect
import os
import sys
import threading

from . import fission_flask
from .errors import KilnError
from .shapes import DEFAULT_NAMES

DEFAULT_ENTRIES = ('main.py', 'handler.py', 'index.py', 'app.py', 'lambda_function.py')
_EXTENSION_SUFFIXES = tuple(importlib.machinery.EXTENSION_SUFFIXES)


class Loaded:
    """The function an instance is specialized with, and what to restore when it is unloaded."""

    def __init__(self):
        self.name = self.version = self.sha256 = self.entrypoint = self.shape = None
        self.timeout = None          # seconds, or None
        self.handler = None
        self.is_async = False
        self.stream = False
        self.flask = False           # a Fission-environment handler: no arguments, Flask's request (fission_flask.py)
        self.base = None             # the package folder (realpath)
        self.requests = 0
        self.running_sync = 0        # sync calls still on a worker thread (a timed-out call keeps its thread)
        self._env = None
        self._cwd = None
        self._sys_path = None
        self._modules = None
        self._threads = None
        self._fds = None
        self._builtins = None

    def describe(self):
        return {'name': self.name, 'version': self.version, 'sha256': self.sha256}


def _fds():
    try:
        names = os.listdir('/proc/self/fd')
    except OSError:
        return None
    out = set()
    for name in names:
        try:
            os.readlink('/proc/self/fd/' + name)  # the listing's own descriptor is gone by now
            out.add(int(name))
        except OSError:
            pass
    return out


def _children():
    try:
        tasks = os.listdir('/proc/self/task')
    except OSError:
        return []
    kids = []
    for tid in tasks:
        try:
            with open('/proc/self/task/%s/children' % tid) as f:
                kids.extend(f.read().split())
        except OSError:
            pass
    return kids


def _resolve_entry(code_path, entrypoint):
    """(base folder, entry file, function name or None)."""
    entrypoint = (entrypoint or '').strip()
    file_part, _, func = entrypoint.partition(':')
    func = func.strip() or None
    if os.path.isfile(code_path):
        return os.path.dirname(code_path), code_path, func
    if not os.path.isdir(code_path):
        raise KilnError('KILN_ERR_LOAD_FAILED', 'code.path %s does not exist' % code_path)
    base = code_path
    if not file_part:
        for name in DEFAULT_ENTRIES:
            if os.path.isfile(os.path.join(base, name)):
                return base, os.path.join(base, name), func
        raise KilnError('KILN_ERR_LOAD_FAILED', 'no entrypoint given and none of %s in %s'
                        % (', '.join(DEFAULT_ENTRIES), base))
    candidates = [file_part]
    if not file_part.endswith('.py'):
        candidates += [file_part + '.py', os.path.join(file_part, '__init__.py')]
        if func is None and '.' in file_part:  # Lambda style: "lambda_function.lambda_handler"
            module, _, attr = file_part.rpartition('.')
            candidates.append((module.replace('.', '/') + '.py', attr))
    for cand in candidates:
        cand, cand_func = (cand if isinstance(cand, tuple) else (cand, func))
        path = os.path.join(base, cand)
        if os.path.isfile(path):
            return base, path, cand_func
    raise KilnError('KILN_ERR_LOAD_FAILED', 'entrypoint %s: no such file in %s' % (file_part, base))


def _module_name(base, path):
    rel = os.path.relpath(path, base)[:-3].replace(os.sep, '.')
    if rel.endswith('.__init__'):
        rel = rel[:-9]
    if all(part.isidentifier() for part in rel.split('.')):
        return rel
    return None


def _import(base, path):
    """Import the entry as a normal module of the package (relative and sibling imports work) unless its
    name is taken by a module loaded from elsewhere; then load it by file under a private name."""
    name = _module_name(base, path)
    if name and (name.split('.')[0] not in sys.modules):
        module = importlib.import_module(name)
        if os.path.realpath(getattr(module, '__file__', '') or '') == os.path.realpath(path):
            return module
    private = '_kiln_function_' + os.path.basename(path)[:-3].replace('-', '_').replace('.', '_')
    spec = importlib.util.spec_from_file_location(private, path)
    if spec is None:
        raise ImportError('cannot load %s' % path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[private] = module
    spec.loader.exec_module(module)
    return module


def _where(exc, base):
    """`file:line` of the deepest frame of the traceback inside the package, or of a SyntaxError."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return '%s:%s' % (exc.filename, exc.lineno)
    where = None
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.startswith(base + os.sep):
            where = '%s:%d' % (filename, tb.tb_lineno)
        tb = tb.tb_next
    return where


def _describe_load_error(exc, base):
    where = _where(exc, base)
    msg = exc.msg if isinstance(exc, SyntaxError) and exc.msg else str(exc)
    text = '%s: %s' % (type(exc).__name__, msg)
    return '%s: %s' % (where, text) if where else text


def _within(path, base):
    return path == base or path.startswith(base + os.sep)


def _own(target, name):
    """`name` when the object itself (or, for an instance, its own class) defines it: never a dunder and
    never what every object inherits, so `__class__` or `__init__` cannot resolve to a callable."""
    if not name.isidentifier() or (name.startswith('__') and name.endswith('__')):
        return None
    if name in (getattr(target, '__dict__', None) or {}):
        return getattr(target, name, None)
    cls = type(target)
    if not isinstance(target, type) and cls.__module__ != 'builtins' and name in vars(cls):
        return getattr(target, name, None)
    return None


def _pick(module, func, shape, path):
    if func:
        target = module
        for part in func.split('.'):
            target = _own(target, part) if target is not None else None
        if not callable(target):
            raise KilnError('KILN_ERR_LOAD_FAILED', '%s has no callable %r' % (path, func))
        return target
    for name in DEFAULT_NAMES[shape]:
        target = _own(module, name)
        if callable(target):
            return target
    raise KilnError('KILN_ERR_LOAD_FAILED', '%s defines none of %s' % (path, ', '.join(DEFAULT_NAMES[shape])))


def _is_async(fn):
    if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        return True
    call = getattr(type(fn), '__call__', None)
    return bool(call) and not inspect.isfunction(fn) and inspect.iscoroutinefunction(call)


def load(spec):
    """A Loaded for a validated specialize request; KilnError('KILN_ERR_LOAD_FAILED') leaves no trace."""
    fn = Loaded()
    fn.name = spec['name']
    fn.version = spec['version']
    fn.sha256 = spec['sha256']
    fn.entrypoint = spec['entrypoint']
    fn.shape = spec['shape']
    fn.timeout = spec['timeout']
    code_path = os.path.realpath(spec['path'])
    base, path, func = _resolve_entry(code_path, spec['entrypoint'])
    base = os.path.realpath(base)
    path = os.path.realpath(path)
    if not _within(path, base):
        raise KilnError('KILN_ERR_LOAD_FAILED', 'entrypoint %s is outside the package' % spec['entrypoint'])
    fn.base = base
    fn._env = dict(os.environ)
    fn._cwd = os.getcwd()
    fn._sys_path = list(sys.path)
    fn._modules = set(sys.modules)
    fn._threads = {t.ident for t in threading.enumerate()}
    fn._fds = _fds()
    fn._builtins = set(vars(builtins))
    try:
        for key, value in (spec['env'] or {}).items():
            os.environ[str(key)] = '' if value is None else str(value)
        sys.path.insert(0, base)
        if fn.shape == 'fission':
            fission_flask.add_shim_path(base)
        os.chdir(base)
        importlib.invalidate_caches()
        module = _import(base, path)
        fn.handler = _pick(module, func, fn.shape, os.path.relpath(path, base))
        if fn.shape == 'fission' and fission_flask.takes_no_arguments(fn.handler):
            fn.handler = fission_flask.wrap(fn.handler)
            fn.flask = True
        config = getattr(module, 'config', None)
        stream = config.get('stream') if isinstance(config, dict) else getattr(config, 'stream', False)
        fn.stream = stream is True
        fn.is_async = _is_async(fn.handler)
    except BaseException as exc:
        unload(fn)
        if isinstance(exc, KilnError):
            raise
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise KilnError('KILN_ERR_LOAD_FAILED', _describe_load_error(exc, base))
    return fn


def leftovers(fn, server_tasks, server_fds):
    """What the function left behind that unloading cannot take back (an empty list: clean)."""
    found = []
    if fn.running_sync:
        found.append('%d call(s) still running on worker threads' % fn.running_sync)
    threads = [t.name for t in threading.enumerate()
               if t.ident not in fn._threads and t.is_alive() and not t.name.startswith('kiln-')]
    if threads:
        found.append('threads: ' + ', '.join(threads))
    try:
        import asyncio
        tasks = [t for t in asyncio.all_tasks() if t not in server_tasks and not t.done()]
        if tasks:
            found.append('%d pending asyncio task(s)' % len(tasks))
    except RuntimeError:
        pass
    kids = _children()
    if kids:
        found.append('child processes: ' + ', '.join(kids))
    if fn._fds is not None:
        now = _fds() or set()
        extra = now - fn._fds - server_fds
        if extra:
            found.append('%d open file descriptor(s)' % len(extra))
    for name in set(sys.modules) - fn._modules:
        mod_file = getattr(sys.modules.get(name), '__file__', None) or ''
        if mod_file.endswith(_EXTENSION_SUFFIXES) and _within(os.path.realpath(mod_file), fn.base):
            found.append('native module %s cannot be unloaded' % name)
    if set(vars(builtins)) != fn._builtins:
        found.append('builtins changed')
    return found


def unload(fn):
    """Drop the package's modules and put env, sys.path and cwd back as they were before specialization."""
    for name in list(set(sys.modules) - fn._modules):
        mod = sys.modules.get(name)
        mod_file = getattr(mod, '__file__', None) or ''
        mod_paths = list(getattr(mod, '__path__', None) or ())
        if name.startswith('_kiln_function_') or (mod_file and _within(os.path.realpath(mod_file), fn.base)) \
                or any(_within(os.path.realpath(p), fn.base) for p in mod_paths) \
                or (mod_file and fission_flask.is_shim_module(os.path.realpath(mod_file))):
            del sys.modules[name]
    if fn._env is not None:
        os.environ.clear()
        os.environ.update(fn._env)
    if fn._sys_path is not None:
        sys.path[:] = fn._sys_path
    if fn._cwd is not None:
        try:
            os.chdir(fn._cwd)
        except OSError:
            pass
    importlib.invalidate_caches()
    fn.handler = None
