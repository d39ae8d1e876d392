"""The one exception type users see, and small input guards that raise it."""
from __future__ import annotations

from typing import Any


class StructposeError(ValueError):
    """Bad input, told in one line: what is wrong and what would be accepted.

    The CLI prints ``str(err)`` and exits with status 2; library callers can catch it.
    """


def check_shape(x: Any, dims: list[str | int], what: str = "input") -> None:
    """Check ``x.shape`` against ``dims``; ``"..."`` first allows any leading dims, ints must match.

    >>> check_shape(np.zeros((4, 17, 3)), ["...", 17, 3])
    """
    shape = tuple(x.shape)
    lead = bool(dims) and dims[0] == "..."
    tail = dims[1:] if lead else dims
    ok = len(shape) >= len(tail) if lead else len(shape) == len(tail)
    if ok:
        for s, d in zip(shape[len(shape) - len(tail):], tail):
            if isinstance(d, int) and s != d:
                ok = False
    if not ok:
        want = "(" + ", ".join(str(d) for d in dims) + ")"
        raise StructposeError(f"{what} has shape {shape}; expected {want}")
