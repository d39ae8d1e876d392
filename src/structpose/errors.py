"""The one exception type users see, and small input guards that raise it."""
from __future__ import annotations

from typing import Any

import numpy as np


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


def check_finite(x: Any, what: str = "input") -> None:
    arr = np.asarray(x.detach().cpu() if hasattr(x, "detach") else x)
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).sum())
        raise StructposeError(f"{what} contains {bad} NaN/inf values; give finite numbers "
                              "(mark missing joints with a score of 0 instead)")


#: frame rates accepted anywhere (frames per second): a 10 s time-lapse step .. a 10 kHz high-speed camera
FPS_MIN, FPS_MAX = 0.1, 10_000.0


def check_fps(fps: Any, what: str = "fps") -> float:
    """A frame rate in ``[FPS_MIN, FPS_MAX]``; anything else (1e9, 1e-9, NaN, a string) is one line."""
    try:
        v = float(fps)
    except (TypeError, ValueError):
        raise StructposeError(f"{what} is {fps!r}; expected a frame rate in frames per second") from None
    if not (np.isfinite(v) and FPS_MIN <= v <= FPS_MAX):
        raise StructposeError(f"{what} is {v:g}; expected a frame rate between {FPS_MIN:g} and {FPS_MAX:g} "
                              "frames per second")
    return v


def check_metres(poses: Any, what: str = "poses_3d") -> None:
    """Refuse poses in millimetres (or other large units): the median bone of a person is ~0.25 m; above
    5 m the file is not in metres."""
    from .skeleton import H36M17
    p = np.asarray(poses, np.float64)
    if p.ndim < 2 or p.shape[-2:] != (17, 3):
        return
    bones = np.linalg.norm(p[..., 1:, :] - p[..., list(H36M17.parents[1:]), :], axis=-1)
    bones = bones[np.isfinite(bones)]
    if bones.size and float(np.median(bones)) > 5.0:
        raise StructposeError(f"{what}: median bone length {float(np.median(bones)):.0f}; poses must be in metres "
                              "(divide millimetres by 1000)")


def warn(message: str) -> None:
    """One ``warning: ...`` line on stderr (the command carries on)."""
    import sys
    print(f"warning: {message}", file=sys.stderr)
