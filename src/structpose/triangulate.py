"""Triangulation of 2D detections from calibrated views: robust weighted DLT, then reprojection refinement.

For one point seen in views ``v`` with undistorted normalised coordinates ``(x_v, y_v)``, camera
``[R_v | t_v]`` (rows ``P1, P2, P3``) and confidence ``w_v``, the DLT (Hartley & Zisserman, Sec. 12.2)
solves ``A X = 0`` in the least-squares sense with ``||X|| = 1``, where each view adds the two rows

    w_v (x_v P3 - P1),   w_v (y_v P3 - P2),

i.e. ``X`` is the right singular vector of ``A`` with the smallest singular value (homogeneous).

Views that disagree are rejected RANSAC-style, exhaustively (a handful of cameras): every subset of
two or more confident views is triangulated, the pixel reprojection error is measured in every view,
and the subset whose inliers (views within ``inlier_px``) are most numerous wins (ties: the smaller
summed inlier error).  The point is then re-triangulated from its inliers and refined by minimising
the confidence-weighted pixel reprojection error through the full camera model, distortion included
(``scipy.optimize.least_squares``).  A point with fewer than ``min_views`` inliers, or whose refined
inlier error exceeds ``inlier_px``, is not trusted: NaN.
"""
from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from typing import NamedTuple

import numpy as np

from .cameras import Camera
from .errors import StructposeError


class Triangulation(NamedTuple):
    """``points`` (..., 3) world (NaN where untrusted); ``error_px`` (V, ...) reprojection error of the
    final point in every view (NaN where the view had no detection); ``inliers`` (V, ...) bool, the views
    used; ``trusted`` (...) bool."""

    points: np.ndarray
    error_px: np.ndarray
    inliers: np.ndarray
    trusted: np.ndarray


def undistort_normalised(uv: np.ndarray, camera: Camera) -> np.ndarray:
    """``(N, 2)`` pixels -> ``(N, 2)`` undistorted normalised coordinates (cv2.undistortPoints)."""
    try:
        import cv2
    except ImportError:
        raise StructposeError("triangulation undistorts with OpenCV: pip install 'structpose[video]' "
                              "(or `make setup`)") from None
    K = np.array([[camera.f[0], 0, camera.c[0]], [0, camera.f[1], camera.c[1]], [0, 0, 1.0]])
    pts = np.ascontiguousarray(np.nan_to_num(uv), np.float64).reshape(-1, 1, 2)
    if len(pts) == 0:
        return np.zeros((0, 2))
    out = cv2.undistortPoints(pts, K, np.asarray(camera.dist, np.float64)).reshape(-1, 2)
    return np.where(np.isfinite(uv), out, np.nan)


def dlt(xy: np.ndarray, weights: np.ndarray, cameras: Sequence[Camera]) -> np.ndarray:
    """Weighted DLT, batched: ``xy`` (V, N, 2) normalised coordinates, ``weights`` (V, N) >= 0 ->
    ``(N, 3)`` world points.  Views with weight 0 do not count; a point needs two views with weight > 0
    (otherwise NaN)."""
    _V, _N = weights.shape
    P = np.stack([np.concatenate([c.R, np.asarray(c.t, float)[:, None]], 1) for c in cameras])   # (V, 3, 4)
    x, y = np.nan_to_num(xy[..., 0]), np.nan_to_num(xy[..., 1])
    w = np.where(np.isfinite(xy).all(-1), weights, 0.0)
    r1 = w[..., None] * (x[..., None] * P[:, None, 2] - P[:, None, 0])             # (V, N, 4)
    r2 = w[..., None] * (y[..., None] * P[:, None, 2] - P[:, None, 1])
    A = np.concatenate([r1, r2], 0).transpose(1, 0, 2)                              # (N, 2V, 4)
    _, _, vt = np.linalg.svd(A)
    X = vt[:, -1]
    with np.errstate(divide="ignore", invalid="ignore"):
        pts = X[:, :3] / X[:, 3:]
    pts[(w > 0).sum(0) < 2] = np.nan
    return pts


def reprojection_error(points: np.ndarray, uv: np.ndarray, cameras: Sequence[Camera]) -> np.ndarray:
    """``points`` (N, 3) world, ``uv`` (V, N, 2) pixels -> ``(V, N)`` pixel distances (NaN where either is
    missing, inf for points behind a camera)."""
    out = np.empty(uv.shape[:2])
    for v, cam in enumerate(cameras):
        pc = cam.world_to_camera(points)
        out[v] = np.linalg.norm(cam.project(pc) - uv[v], axis=-1)
        out[v][pc[:, 2] <= 0] = np.inf
    return out


def _refine(points: np.ndarray, uv: np.ndarray, weights: np.ndarray, cameras: Sequence[Camera]) -> np.ndarray:
    """Minimise ``sum_v w_v |project_v(X) - uv_v|^2`` for every point at once (block-sparse Jacobian)."""
    from scipy.optimize import least_squares
    from scipy.sparse import identity, kron
    ok = np.flatnonzero(np.isfinite(points).all(-1))
    if len(ok) == 0:
        return points
    V, n = len(cameras), len(ok)
    sw = np.sqrt(np.where(np.isfinite(uv[:, ok]).all(-1), weights[:, ok], 0.0))     # (V, n)
    target = np.nan_to_num(uv[:, ok])

    def residuals(flat: np.ndarray) -> np.ndarray:
        X = flat.reshape(n, 3)
        r = np.stack([cam.project(cam.world_to_camera(X)) - target[v] for v, cam in enumerate(cameras)])
        return (r * sw[..., None]).transpose(1, 0, 2).ravel()           # point-major: (n, V, 2)

    sparsity = kron(identity(n, dtype=int, format="csr"), np.ones((2 * V, 3), int), format="csr")
    res = least_squares(residuals, points[ok].ravel(), jac_sparsity=sparsity, method="trf", x_scale="jac",
                        xtol=1e-10, ftol=1e-10, max_nfev=50)
    out = points.copy()
    out[ok] = res.x.reshape(n, 3)
    return out


def triangulate(uv: np.ndarray, confidence: np.ndarray, cameras: Sequence[Camera], min_confidence: float = 0.5,
                inlier_px: float = 20.0, min_views: int = 2, refine: bool = True) -> Triangulation:
    """Robust triangulation of ``uv`` (V, ..., 2) pixels with ``confidence`` (V, ...) in [0, 1] from
    ``V`` calibrated ``cameras`` (world ``X_cam = R X + t``; distortion honoured) -> :class:`Triangulation`.

    Detections below ``min_confidence`` or NaN are ignored; see the module docstring for the view
    rejection and the trust rule.
    """
    uv = np.asarray(uv, np.float64)
    conf = np.asarray(confidence, np.float64)
    V = len(cameras)
    if uv.ndim < 2 or uv.shape[0] != V or uv.shape[-1] != 2 or conf.shape != uv.shape[:-1]:
        raise StructposeError(f"triangulate: uv {uv.shape} and confidence {conf.shape} for {V} cameras; "
                              "expected (V, ..., 2) pixels and (V, ...) scores")
    if V < 2 or min_views < 2:
        raise StructposeError(f"triangulate: {V} camera(s), min_views={min_views}; need at least 2 of each")
    lead = uv.shape[1:-1]
    uv = uv.reshape(V, -1, 2)
    conf = conf.reshape(V, -1)
    usable = np.isfinite(uv).all(-1) & (conf >= min_confidence)
    w = np.where(usable, conf, 0.0)
    xy = np.stack([undistort_normalised(uv[v], cam) for v, cam in enumerate(cameras)])
    N = uv.shape[1]
    best_n = np.zeros(N, int)
    best_err = np.full(N, np.inf)
    best_in = np.zeros((V, N), bool)
    for k in range(2, V + 1):
        for subset in combinations(range(V), k):
            m = np.zeros(V, bool)
            m[list(subset)] = True
            X = dlt(xy, w * m[:, None], cameras)
            err = reprojection_error(X, uv, cameras)
            inl = usable & (err <= inlier_px)
            n_in = inl.sum(0)
            s_err = np.where(inl, err, 0.0).sum(0)
            better = (n_in > best_n) | ((n_in == best_n) & (s_err < best_err) & (n_in > 0))
            best_n = np.where(better, n_in, best_n)
            best_err = np.where(better, s_err, best_err)
            best_in[:, better] = inl[:, better]
    enough = best_n >= min_views
    w_in = np.where(best_in & enough, w, 0.0)
    X = dlt(xy, w_in, cameras)
    if refine:
        X = _refine(X, uv, w_in, cameras)
    err = reprojection_error(X, uv, cameras)
    err[~np.isfinite(uv).all(-1)] = np.nan
    worst = np.where(best_in, err, 0.0).max(0)
    trusted = enough & np.isfinite(X).all(-1) & (worst <= inlier_px)
    X[~trusted] = np.nan
    return Triangulation(points=X.reshape(*lead, 3), error_px=err.reshape(V, *lead),
                         inliers=(best_in & enough).reshape(V, *lead), trusted=trusted.reshape(lead))
