"""Pose geometry shared by losses, metrics and fitting: bones, limb-bend legality, similarity Procrustes.

Every function takes numpy arrays or torch tensors and returns the same kind, batched over any
leading dims.  Poses are ``(..., J, 3)`` joint positions (metres, H36M-17 unless a layout is given)
in the right-handed camera frame: x right, y down, z forward.
"""
from __future__ import annotations

import sys
import warnings
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

if TYPE_CHECKING:
    import torch

from .errors import StructposeError, check_shape
from .skeleton import H36M17, Layout

Array = Any  # np.ndarray | torch.Tensor; kept loose so one signature serves both backends

# Small constants that keep values *and gradients* finite on degenerate poses (zero-length bones,
# coincident joints, all-zero poses): sqrt(|v|^2 + EPS^2) is smooth at 0 and its gradient is bounded.
_NORM_EPS = 1e-9


def _is_torch(x: Array) -> bool:
    # torch is imported only by callers that use it: a tensor can exist only once torch is loaded
    t = sys.modules.get("torch")
    return t is not None and isinstance(x, t.Tensor)


def _torch() -> Any:
    import torch
    return torch


def _cross(a: Array, b: Array) -> Array:
    return _torch().linalg.cross(a, b, dim=-1) if _is_torch(a) else np.cross(a, b)


def safe_norm(v: Array, eps: float = _NORM_EPS) -> Array:
    """``sqrt(|v|^2 + eps^2)`` over the last axis: equals ``|v|`` up to ``eps``, smooth at zero.

    ``v``: (..., D) -> (...,), same units as ``v``.
    """
    sq = (v * v).sum(-1)
    return (sq + eps * eps) ** 0.5


def safe_unit(v: Array, eps: float = _NORM_EPS) -> Array:
    """``v / |v|`` over the last axis; a zero vector maps to zero (not NaN) with a finite gradient."""
    return v / safe_norm(v, eps)[..., None]


def bone_vectors(poses: Array, layout: Layout = H36M17) -> Array:
    """Child minus parent for every bone of ``layout``, in ``layout.bones`` order.

    ``poses``: (..., J, 3) metres -> (..., B, 3) metres, B = J - 1.
    """
    check_shape(poses, ["...", layout.num_joints, 3], "poses")
    parents = [p for p, _ in layout.bones]
    children = [c for _, c in layout.bones]
    return poses[..., children, :] - poses[..., parents, :]


def bone_lengths(poses: Array, layout: Layout = H36M17) -> Array:
    """Euclidean length of every bone: (..., J, 3) metres -> (..., B) metres (exact, no epsilon)."""
    v = bone_vectors(poses, layout)
    sq = (v * v).sum(-1)
    return sq.sqrt() if _is_torch(sq) else np.sqrt(sq)


def smooth_bone_lengths(poses: Array, layout: Layout = H36M17, eps: float = _NORM_EPS) -> Array:
    """:func:`bone_lengths` made smooth at zero for losses: ``sqrt(|v|^2 + eps^2)`` (:func:`safe_norm`).

    (..., J, 3) metres -> (..., B) metres; exact up to ``eps``, with a finite gradient on a zero-length bone.
    """
    return safe_norm(bone_vectors(poses, layout), eps)


def bone_index(layout: Layout = H36M17) -> dict[tuple[int, int], int]:
    """``(parent, child) -> position`` in :func:`bone_vectors`'s bone axis."""
    return {b: i for i, b in enumerate(layout.bones)}


# --- limb-bend legality (the geometry of the paper's Eq. 1) ------------------------------------

#: (name, chain of four joints a -> b -> c -> d, sign).  The reference normal is
#: n = unit(b - a) x unit(c - b) (collar bone x upper arm, or pelvis->hip x thigh) and the limb is
#: legal iff sign * (n . unit(d - c)) >= 0.  The signs hold in the right-handed camera frame (x right,
#: y down, z forward) and were verified on all real DeepMimic frames (tests/test_losses.py): right
#: elbow and left knee +1, left elbow and right knee -1 -- the right-hand rule flips them, as Eq. 1 says.
LIMB_CHAINS: tuple[tuple[str, tuple[str, str, str, str], float], ...] = (
    ("r_elbow", ("thorax", "r_shoulder", "r_elbow", "r_wrist"), +1.0),
    ("l_elbow", ("thorax", "l_shoulder", "l_elbow", "l_wrist"), -1.0),
    ("r_knee", ("pelvis", "r_hip", "r_knee", "r_ankle"), -1.0),
    ("l_knee", ("pelvis", "l_hip", "l_knee", "l_ankle"), +1.0),
)
LIMB_NAMES: tuple[str, ...] = tuple(n for n, _, _ in LIMB_CHAINS)


def _chain_indices(layout: Layout) -> np.ndarray:
    try:
        return np.array([[layout.index(j) for j in chain] for _, chain, _ in LIMB_CHAINS])
    except StructposeError as e:
        raise StructposeError(f"layout {layout.name!r} lacks a joint the limb-angle test needs ({e}); "
                              "use an H36M-17 pose") from None


#: how the elbow's reference direction is chosen (knees always use Eq. 1's pelvis->hip)
ANGLE_REFERENCES = ("collar", "torso")


def limb_legality(poses: Array, layout: Layout = H36M17, reference: str = "collar") -> Array:
    """Signed legality of each elbow and knee bend: >= 0 legal, < 0 bent the wrong way (Eq. 1).

    ``poses``: (..., J, 3) -> (..., 4) dimensionless in [-1, 1], limbs in :data:`LIMB_NAMES` order
    (r_elbow, l_elbow, r_knee, l_knee).  Built from unit bone vectors so it is scale-free:
    ``sign * (unit(ref) x unit(upper)) . unit(lower)``.  By the triple product this equals
    ``sign * unit(ref) . (unit(upper) x unit(lower))``: the hinge axis of the bend must point to the
    same side as the collar bone (pelvis->hip for knees).  Its magnitude is
    ``sin(bend) * sin(angle(ref, upper)) * cos(...)``, so it is near zero exactly where the test is
    ill-posed -- nearly straight limbs and an upper arm raised along the shoulder line -- which is
    why a small margin (``value < -margin`` is illegal) removes most false alarms on real motion.

    ``reference="collar"`` is the paper's Eq. 1.  ``reference="torso"`` (elbows only) replaces the
    fixed collar bone by a torso-anchored reference that follows the upper arm: the shoulder's
    lateral direction (perpendicular to the spine) carried by the minimal rotation ("swing") that
    takes the hanging arm (down the spine) to the current upper arm.  With the arm down both agree;
    when the arm is raised past the shoulder line Eq. 1's reference flips but the swing reference
    does not.  It fades to 0 as the arm points straight up along the spine, where no swing is
    defined.  Measured against DeepMimic's own hinge angles in ``docs/illegal_angle.md``.
    """
    if reference not in ANGLE_REFERENCES:
        raise StructposeError(f"unknown angle reference {reference!r}; choose one of {', '.join(ANGLE_REFERENCES)}")
    check_shape(poses, ["...", layout.num_joints, 3], "poses")
    idx = _chain_indices(layout)
    a, b, c, d = (poses[..., idx[:, k], :] for k in range(4))          # each (..., 4, 3)
    upper, lower = safe_unit(c - b), safe_unit(d - c)
    value = (_cross(safe_unit(b - a), upper) * lower).sum(-1)
    signs = np.array([s for _, _, s in LIMB_CHAINS])
    if reference == "torso":
        swing = _swing_elbow_value(poses, layout, upper[..., :2, :], lower[..., :2, :])
        if _is_torch(value):
            value = _torch().cat([swing, value[..., 2:]], -1)
        else:
            value = np.concatenate([swing, value[..., 2:]], -1)
    if _is_torch(value):
        return value * _torch().as_tensor(signs, dtype=value.dtype, device=value.device)
    return value * signs.astype(value.dtype, copy=False)


def _swing_elbow_value(poses: Array, layout: Layout, upper: Array, lower: Array) -> Array:
    """Torso-anchored elbow test, (..., 2) for (r, l), before the side signs of :data:`LIMB_CHAINS`."""
    j = layout.index
    up = safe_unit(poses[..., j("thorax"), :] - poses[..., j("pelvis"), :])[..., None, :]    # (..., 1, 3)
    lat = safe_unit(poses[..., [j("r_shoulder"), j("l_shoulder")], :] - poses[..., j("thorax"), None, :])
    lat = safe_unit(lat - (lat * up).sum(-1)[..., None] * up)            # shoulder direction, level
    d0 = -up                                                            # the hanging arm
    w = _cross(d0, upper)                                               # swing axis * sin(swing angle)
    cos = (d0 * upper).sum(-1)[..., None]
    # Rodrigues' rotation of `lat` by the swing d0 -> upper, multiplied by (1 + cos) so it stays
    # polynomial (no division) and fades to 0 where the swing is undefined (arm straight up)
    ref = (1.0 + cos) * (cos * lat + _cross(w, lat)) + w * (w * lat).sum(-1)[..., None]
    return 0.5 * (ref * _cross(upper, lower)).sum(-1)


def mirror_limb(poses: np.ndarray, limb: str, layout: Layout = H36M17) -> np.ndarray:
    """Reflect the lower segment of ``limb`` through the plane of the two bones above it.

    (..., J, 3) -> (..., J, 3) copy with the wrist (elbow limbs) or ankle (knee limbs) reflected
    through the plane spanned by the reference bone and the upper segment, passing through the
    elbow / knee.  Bone lengths are preserved; the bend flips to the anatomically impossible side.
    """
    names = {n: chain for n, chain, _ in LIMB_CHAINS}
    if limb not in names:
        raise StructposeError(f"unknown limb {limb!r}; choose one of {', '.join(names)}")
    a, b, c, d = (layout.index(j) for j in names[limb])
    out = np.array(poses, copy=True)
    n = np.cross(poses[..., b, :] - poses[..., a, :], poses[..., c, :] - poses[..., b, :])
    n = n / np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-12)
    rel = poses[..., d, :] - poses[..., c, :]
    out[..., d, :] = poses[..., c, :] + rel - 2.0 * (rel * n).sum(-1, keepdims=True) * n
    return out


# --- similarity Procrustes ----------------------------------------------------------------------

class Procrustes(NamedTuple):
    """Result of :func:`similarity_procrustes`: ``aligned = s * pred @ R^T + t`` (per pose)."""

    aligned: Array   # (..., J, 3) pred moved onto gt
    R: Array         # (..., 3, 3) rotation (det +1 unless allow_reflection)
    s: Array         # (...,) scale (1 when scale=False)
    t: Array         # (..., 3) translation


def similarity_procrustes(pred: Array, gt: Array, scale: bool = True, allow_reflection: bool = False,
                          eps: float = 1e-12, warn: bool = True) -> Procrustes:
    """Best rotation (+ scale) and translation taking ``pred`` onto ``gt`` in least squares (Umeyama 1991).

    ``pred``, ``gt``: (..., J, D) matching shapes (any units) -> :class:`Procrustes` with
    ``aligned`` (..., J, D), ``R`` (..., D, D), ``s`` (...,), ``t`` (..., D).

    With ``C = (gt - mean) ^T (pred - mean) = U S V^T``: ``R = U diag(1, .., det(U V^T)) V^T``
    (the sign fix keeps R a proper rotation unless ``allow_reflection``), ``s = tr(diag S) / |pred - mean|^2``.
    Degenerate input is handled as pytorch3d's ``corresponding_points_alignment`` does: the
    variance of ``pred`` is clamped at ``eps`` (an all-coincident ``pred`` gets ``s = 0``, i.e. it is
    mapped onto gt's centroid, instead of NaN), and a warning is issued when J <= D or a cross-covariance
    has rank < D - 1 (the rotation is then not unique).  Non-finite input raises :class:`StructposeError`.
    Computes in float64 and returns the input dtype.
    """
    if tuple(pred.shape) != tuple(gt.shape):
        raise StructposeError(f"pred has shape {tuple(pred.shape)} but gt has {tuple(gt.shape)}; "
                              "Procrustes needs matching (..., J, D)")
    if pred.ndim < 2:
        raise StructposeError(f"poses have shape {tuple(pred.shape)}; expected (..., J, D)")
    for name, x in (("pred", pred), ("gt", gt)):
        finite = bool(_torch().isfinite(x).all()) if _is_torch(x) else bool(np.isfinite(x).all())
        if not finite:
            raise StructposeError(f"{name} contains NaN/inf; Procrustes needs finite poses")
    J, D = pred.shape[-2], pred.shape[-1]
    if warn and J <= D:
        warnings.warn(f"Procrustes on {J} points in {D}D: the rotation is not unique", stacklevel=2)
    if _is_torch(pred):
        return _procrustes_torch(pred, gt, scale, allow_reflection, eps, warn)
    return _procrustes_numpy(np.asarray(pred), np.asarray(gt), scale, allow_reflection, eps, warn)


def _procrustes_numpy(pred: np.ndarray, gt: np.ndarray, scale: bool, allow_reflection: bool,
                      eps: float, warn: bool) -> Procrustes:
    dtype = np.result_type(pred.dtype, np.float32)
    lead, (J, D) = pred.shape[:-2], pred.shape[-2:]
    # Homogeneous copy of pred, so that rotation, scale and translation are one matmul at the end;
    # numpy's broadcast ops over a trailing dim of 3 are its slowest path, so we avoid them.
    xh = np.empty(lead + (J, D + 1))
    xh[..., :D] = pred
    xh[..., D] = 1.0
    x, y = xh[..., :D], gt.astype(np.float64, copy=False)
    w = np.full((1, J), 1.0 / J)
    mx, my = np.matmul(w, x), np.matmul(w, y)                          # (..., 1, D) centroids
    # centred cross-covariance and variance without centred copies: Yc^T Xc = Y^T X - J my^T mx
    cov = np.matmul(np.swapaxes(y, -1, -2), x) - J * np.matmul(np.swapaxes(my, -1, -2), mx)
    R, trace, sv = _rotation_numpy(cov, allow_reflection)
    if warn:
        _warn_rank(sv)
    if scale:
        sq = np.einsum("...ij,...ij->...", x, x)
        var = sq - J * np.einsum("...ij,...ij->...", mx, mx)
        # a collapsed pred (variance at rounding level) gets s = 0: it maps onto gt's centroid
        degenerate = var <= np.maximum(eps, 1e-12 * sq)
        s = np.where(degenerate, 0.0, trace / np.where(degenerate, 1.0, var))
    else:
        s = np.ones(lead)
    Rt = np.swapaxes(R, -1, -2)
    t = my[..., 0, :] - s[..., None] * np.matmul(mx, Rt)[..., 0, :]
    mh = np.empty(lead + (D + 1, D))
    mh[..., :D, :] = s[..., None, None] * Rt
    mh[..., D, :] = t
    aligned = np.matmul(xh, mh)
    return Procrustes(aligned.astype(dtype, copy=False), R.astype(dtype), s.astype(dtype), t.astype(dtype))


def _rotation_numpy(cov: np.ndarray, allow_reflection: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kabsch from a cross-covariance ``cov = U S V^T``: (R, tr(fix * S), S), batched."""
    if cov.shape[-1] == 3 and cov.size:
        flat = cov.reshape(-1, 3, 3)
        R, trace, sv, ok = _kabsch3_jacobi(flat, allow_reflection)
        if not ok.all():      # rank < 2 (coincident / collinear points): LAPACK's SVD handles those poses
            R[~ok], trace[~ok], sv[~ok] = _kabsch_lapack(flat[~ok], allow_reflection)
        return R.reshape(cov.shape), trace.reshape(cov.shape[:-2]), sv.reshape(cov.shape[:-1])
    return _kabsch_lapack(cov, allow_reflection)


def _kabsch_lapack(cov: np.ndarray, allow_reflection: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    u, sv, vt = np.linalg.svd(cov)
    fix = np.ones_like(sv)
    if not allow_reflection:
        d = np.sign(_det(u) * _det(vt)) if u.shape[-1] == 3 else np.sign(np.linalg.det(u @ vt))
        fix[..., -1] = np.where(d == 0, 1.0, d)
    return np.matmul(u * fix[..., None, :], vt), (sv * fix).sum(-1), sv


def _kabsch3_jacobi(cov: np.ndarray, allow_reflection: bool,
                    sweeps: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Kabsch for (N, 3, 3) ``cov`` via a vectorised cyclic Jacobi eigen-solver of ``cov^T cov``.

    Why: LAPACK's batched SVD pays a per-matrix call (~2.4 s per million 3x3); a Jacobi sweep is
    ~30 array operations over all N at once.  ``cov^T cov = V diag(l) V^T`` with l descending gives
    ``sigma = sqrt(l)``, ``u_i = cov v_i / sigma_i``; with ``u3 = u1 x u2`` and ``v3 = v1 x v2`` both
    frames are proper and ``cov = U diag(s1, s2, +-s3) V^T``, so the best proper rotation is ``U V^T``
    and the trace term ``s1 + s2 + sign(det cov) s3`` (Umeyama's reflection fix).  Rows with
    ``s2 <= 1e-7 s1``, or whose off-diagonal has not converged, are flagged (``ok`` False) for the
    LAPACK path.  Four sweeps reach double precision on random 3x3 (Jacobi converges quadratically);
    we run five and check; the tests compare against scipy.
    """
    k = np.matmul(np.swapaxes(cov, -1, -2), cov)
    a = {(i, j): k[:, i, j].copy() for i in range(3) for j in range(i, 3)}
    one, zero = np.ones(len(k)), np.zeros(len(k))
    vcol = [[one, zero, zero], [zero, one, zero], [zero, zero, one]]   # vcol[c][r] = V[r, c], contiguous
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for _ in range(sweeps):
            for p, q, r in ((0, 1, 2), (0, 2, 1), (1, 2, 0)):
                apq = a[(p, q)]
                theta = (a[(q, q)] - a[(p, p)]) / (2.0 * apq)
                t = np.sign(theta) / (np.abs(theta) + np.sqrt(theta * theta + 1.0))
                t[(apq == 0) | ~np.isfinite(t)] = 0.0
                c = 1.0 / np.sqrt(t * t + 1.0)
                s = t * c
                a[(p, p)] = a[(p, p)] - t * apq
                a[(q, q)] = a[(q, q)] + t * apq
                a[(p, q)] = zero
                krp, krq = (min(r, p), max(r, p)), (min(r, q), max(r, q))
                rp, rq = a[krp], a[krq]
                a[krp], a[krq] = c * rp - s * rq, s * rp + c * rq
                vp, vq = vcol[p], vcol[q]
                vcol[p] = [c * vp[i] - s * vq[i] for i in range(3)]
                vcol[q] = [s * vp[i] + c * vq[i] for i in range(3)]
    v = np.stack([np.stack(col, -1) for col in vcol], -1)                # (N, 3, 3), columns = eigenvectors
    off = np.abs(a[(0, 1)]) + np.abs(a[(0, 2)]) + np.abs(a[(1, 2)])
    converged = off <= 1e-13 * (a[(0, 0)] + a[(1, 1)] + a[(2, 2)])
    lam = np.stack([a[(0, 0)], a[(1, 1)], a[(2, 2)]], -1)
    order = np.argsort(-lam, axis=-1)
    lam = np.take_along_axis(lam, order, -1)
    v = np.take_along_axis(v, order[:, None, :], -1)
    sv = np.sqrt(np.maximum(lam, 0.0))
    ok = sv[:, 1] > 1e-7 * sv[:, 0]
    v1, v2 = v[:, :, 0], v[:, :, 1]
    v3 = np.cross(v1, v2)
    with np.errstate(divide="ignore", invalid="ignore"):
        u1 = np.einsum("nij,nj->ni", cov, v1) / sv[:, 0:1]
        u2 = np.einsum("nij,nj->ni", cov, v2) / sv[:, 1:2]
    u3 = np.cross(u1, u2)
    sign3 = np.sign(_det(cov))
    sign3 = np.where(sign3 == 0, 1.0, sign3)
    d = sign3 if allow_reflection else np.ones_like(sign3)
    R = u1[:, :, None] * v1[:, None, :] + u2[:, :, None] * v2[:, None, :] + (d[:, None] * u3)[:, :, None] * v3[:, None, :]
    trace = sv[:, 0] + sv[:, 1] + (sv[:, 2] if allow_reflection else sign3 * sv[:, 2])
    return R, trace, sv, ok & converged & np.isfinite(R).all((-1, -2))


def _procrustes_torch(pred: torch.Tensor, gt: torch.Tensor, scale: bool, allow_reflection: bool,
                      eps: float, warn: bool) -> Procrustes:
    import torch
    dtype = pred.dtype if pred.is_floating_point() else torch.float32
    x, y = pred.to(torch.float64), gt.to(torch.float64)
    mx, my = x.mean(-2, keepdim=True), y.mean(-2, keepdim=True)
    xc, yc = x - mx, y - my
    cov = yc.transpose(-1, -2) @ xc
    u, sv, vt = torch.linalg.svd(cov)
    if warn:
        _warn_rank(sv.detach().cpu().numpy())
    fix = torch.ones_like(sv)
    if not allow_reflection:
        d = torch.sign(torch.linalg.det(u @ vt))
        fix = torch.cat([fix[..., :-1], torch.where(d == 0, torch.ones_like(d), d)[..., None]], -1)
    R = (u * fix[..., None, :]) @ vt
    if scale:
        s = (sv * fix).sum(-1) / (xc * xc).sum((-1, -2)).clamp_min(eps)
    else:
        s = torch.ones(sv.shape[:-1], dtype=sv.dtype, device=sv.device)
    t = my[..., 0, :] - s[..., None] * (mx @ R.transpose(-1, -2))[..., 0, :]
    aligned = s[..., None, None] * (x @ R.transpose(-1, -2)) + t[..., None, :]
    return Procrustes(aligned.to(dtype), R.to(dtype), s.to(dtype), t.to(dtype))


def _det(m: np.ndarray) -> np.ndarray:
    # explicit 3x3 determinant: several times faster than LAPACK's batched LU for millions of matrices
    return (m[..., 0, 0] * (m[..., 1, 1] * m[..., 2, 2] - m[..., 1, 2] * m[..., 2, 1])
            - m[..., 0, 1] * (m[..., 1, 0] * m[..., 2, 2] - m[..., 1, 2] * m[..., 2, 0])
            + m[..., 0, 2] * (m[..., 1, 0] * m[..., 2, 1] - m[..., 1, 1] * m[..., 2, 0]))


def _warn_rank(sv: np.ndarray) -> None:
    # rank < D - 1 leaves a rotation about more than one axis free (e.g. all points collinear or coincident)
    if sv.size and (sv[..., -2] <= 1e-10 * np.maximum(sv[..., 0], 1e-300)).any():
        warnings.warn("Procrustes: cross-covariance of rank < D-1 for some poses (collinear or coincident "
                      "points); their rotation is not unique", stacklevel=3)
