"""The root's path through a static camera's scene: a linear least-squares problem over the root
positions (``(T, 3)``, camera frame, metres), solved offline for the whole sequence or causally.

Terms (standard deviations in :class:`RootModel`):

* the chain's per-frame root: tight across the viewing ray, loose along it (its depth comes from the
  body's image size and an assumed focal length);
* a foot in contact (weight = its contact probability) lies on the floor's ankle plane ``n.x + d = 0``;
* a foot in contact on two consecutive frames does not slide horizontally (``I - n n^T``);
* a constant-acceleration prior (second differences).

Every term couples at most frames ``t-1, t, t+1``, so the normal equations are block-banded (3x3 blocks,
bandwidth 8) and solved with ``scipy.linalg.solveh_banded`` in O(T).  Causal mode gives each frame the
newest frame of the solution over all frames so far, computed recursively (an information filter over
the last two frames, :func:`_filter`; O(1) per frame): later frames never change earlier output.  NaN frames split the sequence into independent segments.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .contacts import ANKLES


@dataclass
class RootModel:
    """Standard deviations of the root-path terms (metres unless stated)."""

    across_ray: float = 0.03        # the chain's root, across the viewing ray
    along_ray: float = 0.12         # ... along it, as a fraction of the depth
    floor: float = 0.06             # a foot in contact, off the floor (the lifter's ankle error)
    slide: float = 0.005            # a foot in contact, horizontal slide per frame
    accel: float = 4.0              # root acceleration, m/s^2


def _terms(root: np.ndarray, rel: np.ndarray, contact: np.ndarray | None,
           plane: tuple[np.ndarray, float] | None, fps: float, m: RootModel):
    """The problem's terms: per frame ``(A, a)`` (information and its vector, 3x3 and 3: the chain's root
    and a foot on the floor), per pair of consecutive frames ``(S, g)`` (a planted foot does not slide:
    ``S (x_t - x_{t-1}) = -g``) and the acceleration prior's weight ``lam`` (frames t-2, t-1, t)."""
    T = len(root)
    z = np.linalg.norm(root, axis=-1)
    u = root / np.maximum(z, 1e-9)[:, None]
    uu = u[:, :, None] * u[:, None, :]
    eye = np.eye(3)
    A = (eye - uu) / m.across_ray ** 2 + uu / (m.along_ray * np.maximum(z, 0.1))[:, None, None] ** 2
    a = np.einsum("tij,tj->ti", A, root)
    S = np.zeros((max(T - 1, 0), 3, 3))
    g = np.zeros((max(T - 1, 0), 3))
    if contact is not None:
        # with a floor a planted foot lies on it and keeps still along it; without one (plane None: a
        # foot that is still without a floor to stand on, e.g. on a climbing hold) it keeps still in 3D
        P = eye if plane is None else eye - np.outer(plane[0], plane[0])
        for f, ank in enumerate(ANKLES):
            w = np.nan_to_num(contact[:, f])
            r = rel[:, ank]
            if plane is not None:
                n, d = plane
                wf = w / m.floor ** 2
                A = A + wf[:, None, None] * np.outer(n, n)
                a = a + wf[:, None] * (-(d + r @ n))[:, None] * n
            if T > 1:
                ws = np.minimum(w[1:], w[:-1]) / m.slide ** 2
                S += ws[:, None, None] * P
                g += ws[:, None] * ((r[1:] - r[:-1]) @ P)                  # P symmetric
    lam = 1.0 / (m.accel / fps ** 2) ** 2
    return A, a, S, g, lam


def _normal_equations(root: np.ndarray, rel: np.ndarray, contact: np.ndarray | None,
                      plane: tuple[np.ndarray, float] | None, fps: float, m: RootModel):
    """Block-banded normal equations (diag, first and second off-diagonal 3x3 blocks; rhs)."""
    A, a, S, g, lam = _terms(root, rel, contact, plane, fps, m)
    T = len(root)
    D, b = A.copy(), a.copy()
    eye = np.eye(3)
    U1 = -S.copy()
    U2 = np.zeros((max(T - 2, 0), 3, 3))
    if T > 1:
        D[1:] += S
        D[:-1] += S
        b[1:] -= g
        b[:-1] += g
    if T > 2:
        D[:-2] += lam * eye
        D[1:-1] += 4 * lam * eye
        D[2:] += lam * eye
        U1[:-1] -= 2 * lam * eye
        U1[1:] -= 2 * lam * eye
        U2 += lam * eye
    return D, U1, U2, b


def _filter(root: np.ndarray, rel: np.ndarray, contact: np.ndarray | None,
            plane: tuple[np.ndarray, float] | None, fps: float, m: RootModel) -> np.ndarray:
    """Causal solve: frame t's root is the newest frame of the least-squares solution over frames 0..t
    (every term whose frames are all <= t), found recursively.  The state is the information (matrix
    and vector) of the last two frames given all terms so far; each frame adds its terms over frames
    (t-2, t-1, t), reads the newest frame off the 9x9 solve and marginalises frame t-2 (Schur complement).
    The same answer as solving each prefix in full (tested), in O(1) per frame."""
    A, a, S, g, lam = _terms(root, rel, contact, plane, fps, m)
    T = len(root)
    out = np.empty((T, 3))
    Lam = 1e-9 * np.eye(6)                       # frames t-2, t-1 before the first: nothing known
    eta = np.zeros(6)
    acc = lam * np.kron(np.outer([1.0, -2.0, 1.0], [1.0, -2.0, 1.0]), np.eye(3))
    for t in range(T):
        L = np.zeros((9, 9))
        e = np.zeros(9)
        L[:6, :6], e[:6] = Lam, eta
        L[6:, 6:] += A[t] + 1e-9 * np.eye(3)
        e[6:] += a[t]
        if t >= 1:                               # no slide from t-1 to t: S (x_t - x_{t-1}) + g = 0
            L[3:6, 3:6] += S[t - 1]
            L[6:, 6:] += S[t - 1]
            L[3:6, 6:] -= S[t - 1]
            L[6:, 3:6] -= S[t - 1]
            e[3:6] += g[t - 1]
            e[6:] -= g[t - 1]
        if t >= 2:
            L += acc
        out[t] = np.linalg.solve(L, e)[6:]
        # marginalise frame t-2: the state becomes frames t-1, t
        K = np.linalg.solve(L[:3, :3], np.concatenate([L[:3, 3:], e[:3, None]], 1))
        Lam = L[3:, 3:] - L[3:, :3] @ K[:, :6]
        eta = e[3:] - L[3:, :3] @ K[:, 6]
    return out


def _solve_banded(D, U1, U2, b) -> np.ndarray:
    from scipy.linalg import solveh_banded
    T = len(D)
    n = 3 * T
    ab = np.zeros((9, n))
    i, j = np.meshgrid(np.arange(3), np.arange(3), indexing="ij")
    t = np.arange(T)[:, None, None]
    for k, B in ((0, D), (1, U1), (2, U2)):
        if len(B) == 0:
            continue
        tt = t[: len(B)]
        r = 3 * (tt + k) + i                       # lower block (t + k, t) = B[t]^T
        c = 3 * tt + j
        v = np.swapaxes(B, 1, 2)
        r, c = np.broadcast_to(r, v.shape), np.broadcast_to(c, v.shape)
        keep = r >= c
        ab[(r - c)[keep], c[keep]] = v[keep]
    ab[0] += 1e-9
    return solveh_banded(ab, b.reshape(-1), lower=True).reshape(T, 3)


def _segments(ok: np.ndarray) -> list[tuple[int, int]]:
    d = np.diff(np.r_[0, ok.astype(np.int8), 0])
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


def solve_root(root: np.ndarray, rel: np.ndarray, fps: float, contact: np.ndarray | None = None,
               plane: tuple[np.ndarray, float] | None = None, causal: bool = False,
               model: RootModel | None = None) -> np.ndarray:
    """Root positions ``(T, 3)`` (scaled camera frame) from the chain's roots ``(T, 3)``, root-relative
    poses ``(T, 17, 3)``, contact weights ``(T, 2)`` and the ankle plane ``(n, d)``; NaN frames stay
    NaN and split the sequence.  ``causal``: each frame from the frames up to it only."""
    m = model or RootModel()
    out = np.full(root.shape, np.nan)
    ok = np.isfinite(root).all(-1) & np.isfinite(rel).all((-1, -2))
    for s, e in _segments(ok):
        if not causal:
            out[s:e] = _solve_banded(*_normal_equations(root[s:e], rel[s:e], None if contact is None
                                                        else contact[s:e], plane, fps, m))
            continue
        out[s:e] = _filter(root[s:e], rel[s:e], None if contact is None else contact[s:e], plane, fps, m)
    return out
