"""The paper's evaluation measures (Sec. 5, Table 6), for numpy arrays or torch tensors.

Inputs are ``(..., J, 3)`` poses in any consistent unit (structpose uses metres; the CLI prints mm).
No metric aligns implicitly: Protocol 1 callers root-centre first with :func:`root_relative`.
``reduction="mean"`` averages over every leading dim (numpy -> ``np.float64``, which *is* a Python
float; torch -> a 0-dim tensor), ``"none"`` returns the per-pose values, ``"sum"`` their sum.

Averaging convention: :func:`evaluate_sequences` pools **frames** (every valid frame weighs the
same, as mmpose does); :func:`aggregate_by` gives per-action / per-sequence tables and either
convention (``"frames"`` or ``"groups"`` = mean of group means, as VideoPose3D / H36M papers do).
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import torch

from .errors import StructposeError, check_shape
from .geometry import bone_lengths, limb_legality, similarity_procrustes
from .skeleton import H36M17, SYMMETRIC_BONES

Array = Any  # np.ndarray | torch.Tensor

#: unit of every value :func:`evaluate_sequences` returns ("m" -> the CLI prints millimetres)
METRIC_UNITS: dict[str, str] = {
    "mpjpe": "m", "pa_mpjpe": "m", "n_mpjpe": "m", "mpjve": "m/frame", "pck3d": "%", "auc3d": "%",
    "symmetry_error": "m", "bone_length_std": "m", "illegal_angle_ratio": "%",
    "symmetry_error_gt": "m", "bone_length_std_gt": "m", "illegal_angle_ratio_gt": "%",
}


def _norm(v: Array) -> Array:
    return torch.linalg.vector_norm(v, dim=-1) if isinstance(v, torch.Tensor) else np.linalg.norm(v, axis=-1)


def _reduce(x: Array, reduction: str) -> Array:
    if reduction == "none":
        return x
    if reduction == "mean":
        return x.mean() if isinstance(x, torch.Tensor) else np.float64(np.mean(x))
    if reduction == "sum":
        return x.sum() if isinstance(x, torch.Tensor) else np.float64(np.sum(x))
    raise StructposeError(f"unknown reduction {reduction!r}; choose mean, sum or none")


def _pair(pred: Array, gt: Array) -> None:
    check_shape(pred, ["...", "J", 3], "pred")
    if tuple(pred.shape) != tuple(gt.shape):
        raise StructposeError(f"pred has shape {tuple(pred.shape)} but gt has {tuple(gt.shape)}; they must match")


def root_relative(poses: Array, root: int = 0) -> Array:
    """Subtract the root joint (H36M-17: pelvis = 0): (..., J, 3) -> (..., J, 3)."""
    return poses - poses[..., root:root + 1, :]


def mpjpe(pred: Array, gt: Array, reduction: str = "mean") -> Array:
    """Mean per-joint position error (Protocol 1 on root-relative input): per pose mean_j |p_j - g_j|."""
    _pair(pred, gt)
    return _reduce(_norm(pred - gt).mean(-1), reduction)


def pa_mpjpe(pred: Array, gt: Array, reduction: str = "mean", chunk: int = 1 << 14, workers: int | None = None) -> Array:
    """Protocol 2: MPJPE after per-pose similarity Procrustes (rotation, scale, translation; no reflection).

    numpy input is processed in chunks of ``chunk`` poses (bounded memory for millions of poses)
    on ``workers`` threads (default: up to 2 CPUs; numpy's SVD and ufuncs release the GIL).
    """
    _pair(pred, gt)
    if isinstance(pred, torch.Tensor):
        if pred.requires_grad or gt.requires_grad or pred.device.type != "cpu":
            return _reduce(_norm(similarity_procrustes(pred, gt).aligned - gt).mean(-1), reduction)
        # no gradient wanted: the numpy path (vectorised Jacobi Kabsch) is ~10x faster than torch's SVD
        out = pa_mpjpe(pred.numpy(), gt.numpy(), "none", chunk, workers)
        return _reduce(torch.from_numpy(np.asarray(out)).to(pred.dtype), reduction)
    lead = pred.shape[:-2]
    p = np.asarray(pred).reshape(-1, *pred.shape[-2:])
    g = np.asarray(gt).reshape(-1, *gt.shape[-2:])
    out = np.empty(p.shape[0], dtype=np.float64)

    def run(i: int) -> None:
        aligned = similarity_procrustes(p[i:i + chunk], g[i:i + chunk]).aligned
        e = aligned.astype(np.float64, copy=False) - g[i:i + chunk]
        out[i:i + chunk] = np.sqrt(e[..., 0] ** 2 + e[..., 1] ** 2 + e[..., 2] ** 2).mean(-1)

    starts = range(0, p.shape[0], chunk)
    workers = workers or min(2, os.cpu_count() or 1)
    if workers > 1 and len(starts) > 1:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(run, starts))       # list() re-raises a worker's exception here
    else:
        for i in starts:
            run(i)
    return _reduce(out.reshape(lead).astype(np.result_type(pred.dtype, np.float32)), reduction)


def n_mpjpe(pred: Array, gt: Array, reduction: str = "mean") -> Array:
    """MPJPE after the least-squares scale only: ``s = <pred, gt> / <pred, pred>`` per pose (no rotation).

    Callers root-centre first (scale about the root).  An all-zero ``pred`` gets ``s = 0``.
    """
    _pair(pred, gt)
    num = (pred * gt).sum((-1, -2))
    den = (pred * pred).sum((-1, -2))
    den = den.clamp_min(1e-12) if isinstance(den, torch.Tensor) else np.maximum(den, 1e-12)
    return mpjpe((num / den)[..., None, None] * pred, gt, reduction)


def mpjve(pred: Array, gt: Array, reduction: str = "mean") -> Array:
    """Mean per-joint velocity error: poses (..., T, J, 3), T >= 2 -> per frame pair (..., T-1).

    Velocities are finite differences per frame (units per frame, VideoPose3D's convention);
    multiply by the frame rate for units per second.
    """
    _pair(pred, gt)
    if pred.ndim < 3 or pred.shape[-3] < 2:
        raise StructposeError(f"MPJVE needs (..., T, J, 3) with T >= 2 frames; got shape {tuple(pred.shape)}")
    dp = pred[..., 1:, :, :] - pred[..., :-1, :, :]
    dg = gt[..., 1:, :, :] - gt[..., :-1, :, :]
    return _reduce(_norm(dp - dg).mean(-1), reduction)


def pck3d(pred: Array, gt: Array, threshold: float = 0.150, reduction: str = "mean") -> Array:
    """3D PCK in percent: share of joints within ``threshold`` (same unit as the poses; 0.150 m) per pose."""
    _pair(pred, gt)
    hit = _norm(pred - gt) <= threshold
    hit = hit.to(pred.dtype) if isinstance(hit, torch.Tensor) else hit.astype(np.float64)
    return _reduce(100.0 * hit.mean(-1), reduction)


def auc3d(pred: Array, gt: Array, max_threshold: float = 0.150, steps: int = 31, reduction: str = "mean") -> Array:
    """Area under the PCK curve, percent: mean PCK over ``steps`` thresholds evenly spaced in [0, max] (3DHP: 31)."""
    _pair(pred, gt)
    d = _norm(pred - gt)[..., None]                                   # (..., J, 1)
    ths = np.linspace(0.0, max_threshold, steps)
    if isinstance(d, torch.Tensor):
        hit = (d <= torch.as_tensor(ths, dtype=d.dtype, device=d.device)).to(d.dtype)
    else:
        hit = (d <= ths).astype(np.float64)
    return _reduce(100.0 * hit.mean((-1, -2)), reduction)


def _symmetric_lengths(poses: Array) -> tuple[Array, Array]:
    lengths = bone_lengths(poses)                                     # (..., 16), H36M17.bones order
    index = {b: i for i, b in enumerate(H36M17.bones)}
    right = lengths[..., [index[r] for r, _ in SYMMETRIC_BONES]]
    left = lengths[..., [index[l] for _, l in SYMMETRIC_BONES]]
    return right, left


def symmetry_error(poses: Array, reduction: str = "mean") -> Array:
    """Table 6 (upper): |length(right bone) - length(left twin)| for upper arm, forearm, thigh, shin.

    ``poses`` (..., 17, 3) -> ``"none"``: (..., 4) per pair; ``"mean"``: the mean L1 over pairs and poses.
    """
    check_shape(poses, ["...", 17, 3], "poses")
    right, left = _symmetric_lengths(poses)
    diff = right - left
    return _reduce(diff.abs() if isinstance(diff, torch.Tensor) else np.abs(diff), reduction)


def bone_length_std(poses: Array, reduction: str = "mean") -> Array:
    """Table 6 (lower): standard deviation of each bone's length across frames (population std).

    ``poses`` (..., T, 17, 3) -> ``"none"``: (..., 16) per bone in ``H36M17.bones`` order;
    ``"mean"``: mean over bones (and leading dims).
    """
    check_shape(poses, ["...", "T", 17, 3], "poses")
    lengths = bone_lengths(poses)                                     # (..., T, 16)
    std = lengths.std(-2, unbiased=False) if isinstance(lengths, torch.Tensor) else lengths.std(-2)
    return _reduce(std, reduction)


def illegal_angle_ratio(poses: Array, margin: float = 0.0, reference: str = "collar", reduction: str = "mean") -> Array:
    """Percent of elbow / knee bends judged illegal by Eq. 1 (legality < -margin; margin 0 = the paper).

    ``reference``: "collar" (Eq. 1) or "torso" (see :func:`structpose.geometry.limb_legality`).

    ``poses`` (..., 17, 3) -> ``"none"``: (..., 4) of 0 / 100 per limb (r_elbow, l_elbow, r_knee,
    l_knee); ``"mean"``: percent over all limbs and poses.
    """
    check_shape(poses, ["...", 17, 3], "poses")
    bad = limb_legality(poses, reference=reference) < -margin
    bad = bad.to(poses.dtype) if isinstance(bad, torch.Tensor) else bad.astype(np.float64)
    return _reduce(100.0 * bad, reduction)


# --- aggregation ---------------------------------------------------------------------------------

def aggregate_by(values: Array, keys: Sequence[Any], convention: str = "frames") -> dict[str, float]:
    """Per-group means (per action, per sequence, ...) plus ``"average"`` under a declared convention.

    ``values``: (N,) per-frame values; ``keys``: (N,) group labels.  ``convention="frames"``: the
    average is over all N frames (large groups weigh more); ``"groups"``: mean of the group means
    (each action weighs the same -- the Human3.6M per-action tables).
    """
    v = np.asarray(values.detach().cpu() if isinstance(values, torch.Tensor) else values, dtype=np.float64).ravel()
    k = np.asarray(keys).ravel()
    if v.shape != k.shape:
        raise StructposeError(f"{v.size} values but {k.size} keys; give one key per value")
    if convention not in ("frames", "groups"):
        raise StructposeError(f"unknown averaging convention {convention!r}; choose 'frames' or 'groups'")
    if v.size == 0:
        raise StructposeError("nothing to aggregate: 0 values")
    groups = {str(g): float(v[k == g].mean()) for g in dict.fromkeys(k.tolist())}
    groups["average"] = float(v.mean()) if convention == "frames" else float(np.mean(list(groups.values())))
    return groups


def per_action(values: Array, actions: Sequence[str]) -> dict[str, float]:
    """Per-action table; the average is the mean over actions (Human3.6M convention)."""
    return aggregate_by(values, actions, "groups")


def per_sequence(values: Array, sequences: Sequence[str], convention: str = "frames") -> dict[str, float]:
    """Per-sequence table; by default the average is over frames."""
    return aggregate_by(values, sequences, convention)


# --- everything at once ----------------------------------------------------------------------------

def _as_list(x: Any, what: str) -> list[np.ndarray]:
    if isinstance(x, (list, tuple)):
        return [np.asarray(s, dtype=np.float64) for s in x]
    return [np.asarray(x, dtype=np.float64)]


def evaluate_sequences(pred: Any, gt: Any, valid: Any = None, names: Sequence[str] | None = None,
                       margin: float = 0.0, angle_reference: str = "collar") -> dict[str, Any]:
    """Every metric of the paper for predicted vs ground-truth sequences, in metres / percent.

    ``pred``, ``gt``: one ``(T, 17, 3)`` array or a list of them (one per sequence), metres, same
    camera frame.  ``valid``: optional bool ``(T,)`` (or a list) -- frames with ``False``, and frames
    where either pose is not finite *and* no ``valid`` was given, are excluded and counted.
    Both are root-centred (pelvis) before P1, P2, N-MPJPE, PCK, AUC (Protocol 1).  Frame-pooled
    averages (``"averaging": "frames"``); MPJVE uses pairs of consecutive valid frames within a
    sequence; bone-length std is per sequence over its valid frames, averaged over bones, then over
    sequences weighted by frames.  No rescaling of predictions (unlike Zhou / Dabral's fixed total
    bone length): scale errors show in P1 and are factored out in N-MPJPE / PA-MPJPE.
    ``mpjpe_per_joint`` maps H36M-17 joint names to metres.  A metric that cannot be computed (MPJVE without any consecutive
    valid pair, bone std without 2 frames) is ``None``.  Units: :data:`METRIC_UNITS`.
    ``margin`` / ``angle_reference`` select the illegal-angle test (defaults: the paper's Eq. 1).
    """
    preds, gts = _as_list(pred, "pred"), _as_list(gt, "gt")
    if len(preds) != len(gts):
        raise StructposeError(f"{len(preds)} predicted sequences but {len(gts)} ground-truth sequences")
    valids = [None] * len(preds) if valid is None else (list(valid) if isinstance(valid, (list, tuple)) else [valid])
    if len(valids) != len(preds):
        raise StructposeError(f"{len(valids)} valid masks for {len(preds)} sequences")
    names = list(names) if names is not None else [str(i) for i in range(len(preds))]
    frames_p, frames_g, vel, std_p, std_g, std_w, per_seq = [], [], [], [], [], [], {}
    excluded = 0
    for name, p, g, v in zip(names, preds, gts, valids):
        for what, x in (("pred", p), ("gt", g)):
            if x.ndim != 3 or x.shape[1:] != (17, 3):
                raise StructposeError(f"{what} sequence {name!r} has shape {x.shape}; expected (T, 17, 3) H36M-17")
        if p.shape != g.shape:
            raise StructposeError(f"sequence {name!r}: pred has {p.shape[0]} frames but gt has {g.shape[0]}; "
                                  "they must cover the same frames")
        finite = np.isfinite(p).all((1, 2)) & np.isfinite(g).all((1, 2))
        if v is None:
            v = finite
        else:
            v = np.asarray(v, dtype=bool)
            if v.shape != (p.shape[0],):
                raise StructposeError(f"sequence {name!r}: valid has shape {v.shape}; expected ({p.shape[0]},)")
            bad = np.flatnonzero(v & ~finite)
            if bad.size:
                raise StructposeError(f"sequence {name!r}: frame {bad[0]} is marked valid but holds NaN/inf; "
                                      "mark it valid=False or give finite joints")
        excluded += int((~v).sum())
        if not v.any():
            continue
        pr, gr = root_relative(p[v]), root_relative(g[v])
        frames_p.append(pr)
        frames_g.append(gr)
        per_seq[name] = {"frames": int(v.sum()), "mpjpe": float(mpjpe(pr, gr)), "pa_mpjpe": float(pa_mpjpe(pr, gr))}
        pairs = v[1:] & v[:-1]
        if pairs.any():
            rp, rg = root_relative(p), root_relative(g)
            vel.append(mpjve(rp, rg, reduction="none")[pairs])
        if v.sum() >= 2:
            std_p.append(float(bone_length_std(p[v])))
            std_g.append(float(bone_length_std(g[v])))
            std_w.append(int(v.sum()))
    if not frames_p:
        raise StructposeError(f"no valid frame to evaluate ({excluded} excluded); check the valid flags")
    P, G = np.concatenate(frames_p), np.concatenate(frames_g)
    return {
        "mpjpe": float(mpjpe(P, G)), "pa_mpjpe": float(pa_mpjpe(P, G)), "n_mpjpe": float(n_mpjpe(P, G)),
        "mpjve": float(np.concatenate(vel).mean()) if vel else None,
        "pck3d": float(pck3d(P, G)), "auc3d": float(auc3d(P, G)),
        "symmetry_error": float(symmetry_error(P)),
        "bone_length_std": float(np.average(std_p, weights=std_w)) if std_w else None,
        "illegal_angle_ratio": float(illegal_angle_ratio(P, margin, angle_reference)),
        "symmetry_error_gt": float(symmetry_error(G)),
        "bone_length_std_gt": float(np.average(std_g, weights=std_w)) if std_w else None,
        "illegal_angle_ratio_gt": float(illegal_angle_ratio(G, margin, angle_reference)),
        "mpjpe_per_joint": dict(zip(H36M17.names, np.sqrt(((P - G) ** 2).sum(-1)).mean(0).tolist())),
        "frames": int(P.shape[0]), "frames_excluded": excluded, "sequences": len(preds),
        "averaging": "frames", "per_sequence": per_seq,
    }


def cross_view_consistency(poses: np.ndarray, reduction: str = "mean") -> np.ndarray | np.float64:
    """Agreement of one system with itself across views, no ground truth needed.

    ``poses`` (V, T, J, 3): the 3D pose predicted independently from each of ``V`` synchronised views
    (each in its own camera frame; frames without a pose are NaN).  Per instant ``t``, the PA-MPJPE
    (similarity Procrustes) of view ``i``'s pose onto view ``j``'s, averaged over all **ordered** pairs
    ``i != j`` with both poses finite (Procrustes scales the first pose, so both directions count).
    ``"none"``: (T,) per instant, NaN where fewer than two views have a pose; ``"mean"``: the mean over
    instants that have a value.  A system that sees depth right gives the same shape from every view.
    """
    p = np.asarray(poses, np.float64)
    check_shape(p, ["V", "T", "J", 3], "cross-view poses")
    V, T = p.shape[:2]
    ok = np.isfinite(p).all((-1, -2))                                  # (V, T)
    total, count = np.zeros(T), np.zeros(T)
    for i in range(V):
        for j in range(V):
            both = ok[i] & ok[j] & (i != j)
            if both.any():
                total[both] += pa_mpjpe(p[i, both], p[j, both], "none")
                count[both] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        per_t = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    if reduction == "none":
        return per_t
    if not np.isfinite(per_t).any():
        raise StructposeError("cross-view consistency: no instant has a pose in two views")
    return _reduce(per_t[np.isfinite(per_t)], reduction)
