"""TP-Net's windows: which model frames a window holds, and reading them from a sequence at any rate.

Shared by every temporal model (:mod:`structpose.models.tpnet`, :mod:`structpose.models.temporal_rnn`)
and by the streaming refiner; see :mod:`structpose.models.tpnet` for the conventions.
"""
from __future__ import annotations

import numpy as np

from ..errors import StructposeError

MODEL_FPS = 30.0
MODES = ("online", "bidirectional")
POSE_SCALE = 0.5     # metres: brings root-relative coordinates to ~unit range
DELTA_SCALE = 0.05   # metres: typical frame-to-frame / error magnitude


def lookahead(window: int, mode: str) -> int:
    """Future model frames a window needs (the lag): 0 online, ``window - 1 - window // 2`` bidirectional."""
    check_mode(mode)
    return 0 if mode == "online" else window - 1 - window // 2


def window_offsets(window: int, mode: str) -> np.ndarray:
    """Frame offsets of a window relative to the current frame, oldest first: ``(window,)`` int."""
    if window < 1:
        raise StructposeError(f"TP-Net window must be >= 1 frames; got {window}")
    la = lookahead(window, mode)
    return np.arange(-(window - 1 - la), la + 1)


def reference_index(window: int, mode: str) -> int:
    """Index in the window of the frame being refined (offset 0)."""
    return window - 1 - lookahead(window, mode)


def sample_windows(poses: np.ndarray, times: np.ndarray, query_times: np.ndarray, offsets: np.ndarray,
                   rate: float = MODEL_FPS) -> np.ndarray:
    """Windows ``(Q, N, J, 3)`` read from a sequence ``poses (T, J, 3)`` with timestamps ``times (T,)``.

    Window q holds the poses at ``query_times[q] + offsets / rate`` seconds, linearly interpolated;
    times outside ``[times[0], times[-1]]`` are clamped (repetition padding at the ends).
    ``times`` must be increasing and the poses finite.
    """
    poses = np.asarray(poses)
    times = np.asarray(times, np.float64)
    T = poses.shape[0]
    t = np.clip(np.asarray(query_times, np.float64)[:, None] + np.asarray(offsets)[None, :] / rate,
                times[0], times[-1])
    if T == 1:
        return np.broadcast_to(poses[0], t.shape + poses.shape[1:]).copy()
    i = np.clip(np.searchsorted(times, t, side="right") - 1, 0, T - 2)
    w = ((t - times[i]) / (times[i + 1] - times[i]))[..., None, None]
    return ((1 - w) * poses[i] + w * poses[i + 1]).astype(poses.dtype)


def check_mode(mode: str) -> None:
    if mode not in MODES:
        raise StructposeError(f"mode {mode!r}; expected one of {', '.join(MODES)}")
