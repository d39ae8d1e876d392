"""Write-then-rename, so an interrupted or failed command never leaves a half-written file."""
from __future__ import annotations

import contextlib
import glob
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from ..errors import StructposeError

#: temporary files of atomic writes in progress (a SIGTERM handler removes them: :func:`remove_temporaries`)
_LIVE: set[Path] = set()
#: final paths whose atomic write is in progress (their temporaries may exist before they are in ``_LIVE``)
_PENDING: set[Path] = set()


#: held while another thread has a library (cv2.VideoWriter) open a temporary path by name: that open re-creates a
#: file the clean-up has just removed, so the clean-up takes this lock first and never gives it back
_OPENING = threading.Lock()


@contextlib.contextmanager
def opening_temporary() -> Iterator[None]:
    """Wrap the moment a library opens (and so creates) a temporary path by its name, in a worker thread.  Once
    :func:`remove_temporaries` has run, such an open waits until the process ends instead of re-creating the file."""
    with _OPENING:
        yield


def remove_temporaries() -> None:
    """Delete every temporary file of an atomic write still in progress (for a signal handler that ends the
    process without unwinding: ``kill`` must not leave hidden ``.NAME.xxxx`` files behind).  Worker threads
    cannot open a temporary path by name afterwards (:func:`opening_temporary`)."""
    _OPENING.acquire(timeout=5.0)        # the process ends right after this; the lock is never released
    # a signal can land between mkstemp and the registration of its name, so the temporaries of every output
    # being written are also found by their name pattern (``.NAME.xxxx``), beside the final path
    found = set(_LIVE)
    for final in list(_PENDING):
        found.update(final.parent.glob(f".{glob.escape(final.name)}.*"))
    for p in found:
        try:
            p.unlink()
        except OSError:
            pass


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix); rename it to ``path`` on success.

    On any exception the temporary file is removed and ``path`` is left untouched.
    """
    path = Path(path)
    if path.is_dir():
        raise StructposeError(f"{path} is a folder; expected an output file name")
    _PENDING.add(path)
    try:
        if path.parent and not path.parent.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix or ".tmp", dir=path.parent or ".")
    except OSError as e:        # read-only or missing mount, no permission: a user error, not a traceback
        _PENDING.discard(path)
        raise StructposeError(f"{path}: cannot write there ({e.strerror or e}); choose a writable output path") from None
    os.close(fd)
    tmp_path = Path(tmp)
    _LIVE.add(tmp_path)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)      # mkstemp makes 0600; outputs should follow the umask
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        _LIVE.discard(tmp_path)
        _PENDING.discard(path)
        if tmp_path.exists():
            tmp_path.unlink()
