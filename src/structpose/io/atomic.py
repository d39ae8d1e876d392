"""Write-then-rename, so an interrupted or failed command never leaves a half-written file."""
from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..errors import StructposeError

#: temporary files of atomic writes in progress (a SIGTERM handler removes them: :func:`remove_temporaries`)
_LIVE: set[Path] = set()


def remove_temporaries() -> None:
    """Delete every temporary file of an atomic write still in progress (for a signal handler that ends the
    process without unwinding: ``kill`` must not leave hidden ``.NAME.xxxx`` files behind)."""
    for p in list(_LIVE):
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
    try:
        if path.parent and not path.parent.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix or ".tmp", dir=path.parent or ".")
    except OSError as e:        # read-only or missing mount, no permission: a user error, not a traceback
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
        if tmp_path.exists():
            tmp_path.unlink()
