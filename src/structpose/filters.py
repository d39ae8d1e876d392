"""Classical temporal filters for pose sequences: the baselines TP-Net must beat.

* :class:`OneEuroFilter` — the 1€ filter (Casiez, Roussel & Vogel, CHI 2012), causal, adaptive
  cut-off: smooths hard when a joint moves slowly, follows fast motion with less lag.  Streaming
  (``step``) and whole-sequence (``one_euro``) forms.
* :func:`savgol` — Savitzky–Golay smoothing (``scipy.signal.savgol_filter``), centred, offline.
* :func:`moving_average` — centred box filter (``scipy.ndimage.uniform_filter1d``), offline.

Every filter states its **lag in frames**: how many future input frames it needs before it can
emit the output for a frame (0 for causal filters).  Inputs are ``(T, ...)`` arrays, time first,
any trailing shape (e.g. ``(T, 17, 3)`` metres); NaN is not accepted (the refiner fills missing
frames first, see :mod:`structpose.pipeline.refiner`).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.ndimage import uniform_filter1d
from scipy.signal import savgol_filter

from .errors import StructposeError


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
    # exponential smoothing factor of a first-order low-pass with this cut-off (Hz) at step dt (s)
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """Streaming 1€ filter over arrays of any fixed shape (e.g. one pose ``(17, 3)``).

    ``min_cutoff`` (Hz) sets smoothing at rest, ``beta`` (1/m) how fast the cut-off rises with
    speed (m/s), ``d_cutoff`` (Hz) smooths the speed estimate.  Lag: 0 frames (causal).
    """

    lag = 0

    def __init__(self, fps: float, min_cutoff: float = 1.0, beta: float = 0.5, d_cutoff: float = 1.0) -> None:
        if not (fps > 0 and min_cutoff > 0 and d_cutoff > 0 and beta >= 0):
            raise StructposeError(f"1€ filter needs fps, min_cutoff, d_cutoff > 0 and beta >= 0; got fps={fps}, "
                                  f"min_cutoff={min_cutoff}, beta={beta}, d_cutoff={d_cutoff}")
        self.dt = 1.0 / fps
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.reset()

    def reset(self) -> None:
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None

    def step(self, x: np.ndarray) -> np.ndarray:
        """Filter one sample (any shape, the same every call); returns the filtered sample."""
        x = np.asarray(x, dtype=np.float64)
        if self._x is None:
            self._x, self._dx = x.copy(), np.zeros_like(x)
            return x.copy()
        dx = (x - self._x) / self.dt
        self._dx = self._dx + _alpha(self.d_cutoff, self.dt) * (dx - self._dx)
        # the cut-off is per joint: driven by the joint's 3D speed, not per coordinate, so that a
        # joint moving along one axis is not smoothed differently along the others
        speed = np.linalg.norm(self._dx, axis=-1, keepdims=True) if x.ndim else np.abs(self._dx)
        a = _alpha(self.min_cutoff + self.beta * speed, self.dt)
        self._x = self._x + a * (x - self._x)
        return self._x.copy()


def one_euro(x: np.ndarray, fps: float, min_cutoff: float = 1.0, beta: float = 0.5,
             d_cutoff: float = 1.0) -> np.ndarray:
    """1€-filter a whole sequence ``(T, ...)`` causally (same result as streaming ``step``)."""
    x = _check_seq(x, "one_euro input")
    f = OneEuroFilter(fps, min_cutoff, beta, d_cutoff)
    return np.stack([f.step(xt) for xt in x]).astype(x.dtype)


def savgol(x: np.ndarray, window: int, polyorder: int = 2) -> np.ndarray:
    """Centred Savitzky–Golay smoothing along time of ``(T, ...)``; lag = ``window // 2`` frames.

    Sequences shorter than ``window`` use the longest odd window that fits (and is above
    ``polyorder``); a sequence too short for any such window is returned unchanged.
    """
    x = _check_seq(x, "savgol input")
    if window < 3 or window % 2 == 0 or polyorder >= window:
        raise StructposeError(f"Savitzky–Golay window must be odd, >= 3 and > polyorder; got window={window}, "
                              f"polyorder={polyorder}")
    w = min(window, x.shape[0] if x.shape[0] % 2 else x.shape[0] - 1)
    if w <= polyorder:
        return x.copy()
    return savgol_filter(x, w, polyorder, axis=0, mode="interp").astype(x.dtype)


def savgol_lag(window: int) -> int:
    return window // 2


def moving_average(x: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average over ``window`` (odd) frames of ``(T, ...)``; ends repeat the edge frame.

    Lag = ``window // 2`` frames.
    """
    x = _check_seq(x, "moving_average input")
    if window < 1 or window % 2 == 0:
        raise StructposeError(f"moving-average window must be odd and >= 1; got {window}")
    return uniform_filter1d(x, window, axis=0, mode="nearest").astype(x.dtype)


def moving_average_lag(window: int) -> int:
    return window // 2


def _check_seq(x: np.ndarray, what: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim < 1 or x.shape[0] == 0:
        raise StructposeError(f"{what} has shape {x.shape}; expected (T, ...) with T >= 1 frames")
    if not np.isfinite(x).all():
        raise StructposeError(f"{what} contains NaN/inf; fill missing frames first (see structpose.pipeline)")
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    return x
