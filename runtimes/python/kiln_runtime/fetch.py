"""code.url: download a package (gzipped tar), check its sha256, unpack it once into a local cache.

Used when the platform shares no file system with the instance (a pod on another node). Unpacking
uses tarfile's 'data' filter: regular files and folders inside the package only.
"""
import hashlib
import io
import os
import shutil
import tarfile
import tempfile
import urllib.request

from .errors import KilnError

CACHE = os.environ.get('KILN_CODE_CACHE') or os.path.join(tempfile.gettempdir(), 'kiln-code')
MAX_BYTES = int(os.environ.get('KILN_MAX_PACKAGE') or 512 * 1024 * 1024)


def _fail(message):
    return KilnError('KILN_ERR_LOAD_FAILED', message)


def fetch_code(url, sha256):
    """The local folder holding the package at url (downloaded and unpacked on first use)."""
    if not isinstance(sha256, str) or len(sha256) != 64:
        raise _fail('code.sha256 is not a sha256: %s' % sha256)
    target = os.path.join(CACHE, sha256)
    if os.path.isdir(target):
        return target
    try:
        with urllib.request.urlopen(url, timeout=60) as res:
            body = res.read(MAX_BYTES + 1)
    except Exception as e:  # noqa: BLE001 - any download failure is a load failure
        raise _fail('cannot download the package from %s: %s' % (url, e))
    if len(body) > MAX_BYTES:
        raise _fail('package over %d bytes' % MAX_BYTES)
    got = hashlib.sha256(body).hexdigest()
    if got != sha256:
        raise _fail('package checksum mismatch: expected %s, got %s' % (sha256, got))
    tmp = '%s.%d.tmp' % (target, os.getpid())
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    try:
        with tarfile.open(fileobj=io.BytesIO(body), mode='r:gz') as tar:
            for member in tar.getmembers():
                if not (member.isfile() or member.isdir()):
                    raise _fail('package refused: %s is not a regular file or folder' % member.name)
            tar.extractall(tmp, filter='data')
        os.replace(tmp, target)
    except KilnError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    except Exception as e:  # noqa: BLE001 - tarfile's own refusal (path traversal, bad archive)
        shutil.rmtree(tmp, ignore_errors=True)
        raise _fail('package refused: %s' % e)
    return target
