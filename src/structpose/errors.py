"""The one exception type users see, and small input guards that raise it."""
from __future__ import annotations

import math
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


#: frame rates accepted anywhere (frames per second): a 10 s time-lapse step .. a 10 kHz high-speed camera
FPS_MIN, FPS_MAX = 0.1, 10_000.0


def check_fps(fps: Any, what: str = "fps") -> float:
    """A frame rate in ``[FPS_MIN, FPS_MAX]``; anything else (1e9, 1e-9, NaN, a string) is one line."""
    try:
        v = float(fps)
    except (TypeError, ValueError):
        raise StructposeError(f"{what} is {fps!r}; expected a frame rate in frames per second") from None
    if not (math.isfinite(v) and FPS_MIN <= v <= FPS_MAX):
        raise StructposeError(f"{what} is {v:g}; expected a frame rate between {FPS_MIN:g} and {FPS_MAX:g} "
                              "frames per second")
    return v


def warn(message: str) -> None:
    """One ``warning: ...`` line on stderr (the command carries on)."""
    import sys
    print(f"warning: {message}", file=sys.stderr)
