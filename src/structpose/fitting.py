"""Skeleton fitting: keep every bone's direction, impose bone lengths (paper Sec. 3, Fig. 2).

Walk the kinematic tree from the root: ``child = parent + length * unit(pred_child - pred_parent)``.
Works on numpy arrays (returned as numpy) and torch tensors (differentiable).

The fitting policy (the one every command and the library share)
    * Bone lengths are given (a subject's skeleton, metres in ``layout.bones`` order) or estimated
      from the poses themselves: the per-bone **median** over the finite frames (robust to outlier
      frames, unlike the mean), then **left/right symmetrised** — each limb bone averaged with its
      twin (:func:`symmetric_bone_lengths`): a body is symmetric, a lifter's left/right imbalance is
      an error.
    * Offline (a whole sequence: ``refine``, ``lift``/``video --mode bidirectional|none``, ``image``):
      one set of lengths from every finite frame (:func:`fit_sequence`).
    * Online (``--mode online``): causal, :class:`RunningSkeleton` — the same estimator over the
      last ``history`` valid frames (10 s of frames by default), re-estimated every ``every``
      frames, so later frames never change earlier ones.
    * The root joint stays where it is; frames holding NaN stay NaN.
"""
from __future__ import annotations

import sys
from collections import deque
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

from .errors import StructposeError, check_shape
from .geometry import bone_lengths
from .skeleton import H36M17, Layout, get_layout

if TYPE_CHECKING:
    import torch


def _is_np(x: object) -> bool:
    """Not a torch tensor (torch is imported only by callers that pass tensors)."""
    t = sys.modules.get("torch")
    return t is None or not isinstance(x, t.Tensor)

# added to |v|^2 before the square root: a zero-length predicted bone has no direction, its child
# lands on its parent with a finite gradient
_EPS = 1e-9
#: online fitting: window of valid frames (in seconds of frames) and re-estimation period (frames)
HISTORY_S = 10.0
EVERY = 10


def _topological(layout: Layout) -> list[int]:
    order: list[int] = []
    seen: set[int] = set()
    while len(order) < layout.num_joints:
        progressed = False
        for j, p in enumerate(layout.parents):
            if j not in seen and (p < 0 or p in seen):
                order.append(j)
                seen.add(j)
                progressed = True
        if not progressed:
            raise StructposeError(f"layout {layout.name} has a cycle in its parents; cannot walk the tree")
    return order


def symmetrise(lengths: np.ndarray | torch.Tensor, layout: str | Layout = H36M17):
    """Average every limb bone with its left/right twin; torso bones are their own twins.

    ``lengths``: ``(..., B)`` in ``layout.bones`` order -> same shape and type.
    """
    twins = get_layout(layout).bone_twins
    return 0.5 * (lengths + lengths[..., twins])


def median_bone_lengths(poses: np.ndarray | torch.Tensor, layout: str | Layout = H36M17):
    """Per-bone median length over the time axis of ``(..., T, J, 3)`` -> ``(..., B)``.

    NaN frames (missed detections) are ignored; the median resists outlier frames, unlike the mean.
    An even count takes the mean of the two middle values (as ``np.median``; ``torch.median``
    would take the lower one).
    """
    if np.ndim(poses) < 3:
        raise StructposeError(f"median bone lengths need a sequence (T, J, 3); got shape {tuple(np.shape(poses))}")
    if _is_np(poses):
        lengths = bone_lengths(np.asarray(poses, np.float64), get_layout(layout))
        if np.isnan(lengths).all(-2).any():
            raise StructposeError("cannot estimate bone lengths: a sequence has no finite frame")
        return np.nanquantile(lengths, 0.5, axis=-2)        # (..., T, B) -> (..., B)
    import torch
    med = torch.nanquantile(bone_lengths(poses, get_layout(layout)), 0.5, dim=-2)
    if torch.isnan(med).any():
        raise StructposeError("cannot estimate bone lengths: a sequence has no finite frame")
    return med


def symmetric_bone_lengths(poses: np.ndarray | torch.Tensor, layout: str | Layout = H36M17):
    """The policy's estimate: per-bone median over time, left/right symmetrised.

    ``(..., T, J, 3)`` -> ``(..., B)`` (same units and type as ``poses``).
    """
    return symmetrise(median_bone_lengths(poses, layout), layout)


@cache
def _walk(lay: Layout) -> tuple[tuple[int, int, int], ...]:
    """``(joint, parent, bone)`` from the root outwards (parents before children); the root has -1, -1."""
    bone_of_child = {c: b for b, (_, c) in enumerate(lay.bones)}
    return tuple((j, lay.parents[j], bone_of_child.get(j, -1)) for j in _topological(lay))


def _fit_one_numpy(pose: np.ndarray, lengths: np.ndarray, lay: Layout) -> np.ndarray:
    """One ``(J, 3)`` pose in plain NumPy: ~30 x faster than the tensor walk for a single frame in a stream."""
    out = pose.copy()
    for j, par, b in _walk(lay):
        if par >= 0:
            v = pose[j] - pose[par]
            out[j] = out[par] + lengths[b] * v / np.sqrt(v @ v + _EPS)
    return out


@cache
def _levels(lay: Layout) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...]:
    """The tree walk grouped by depth: per level ``(joints, their parents, their bones)`` index arrays."""
    depth: dict[int, int] = {}
    for j, par, _ in _walk(lay):
        depth[j] = 0 if par < 0 else depth[par] + 1
    rows = [(j, par, b) for j, par, b in _walk(lay) if par >= 0]
    return tuple(tuple(np.array([r[k] for r in rows if depth[r[0]] == d]) for k in range(3))  # type: ignore[misc]
                 for d in range(1, max(depth.values()) + 1))


def _fit_one_levels(pose: np.ndarray, lengths: np.ndarray, lay: Layout) -> np.ndarray:
    """:func:`_fit_one_numpy` one tree level at a time (a few NumPy calls per level instead of per joint;
    the same arithmetic per joint)."""
    out = pose.copy()
    for js, ps, bs in _levels(lay):
        v = pose[js] - pose[ps]
        out[js] = out[ps] + lengths[bs][:, None] * v / np.sqrt((v * v).sum(-1) + _EPS)[:, None]
    return out


def _fit_numpy(poses: np.ndarray, lengths: np.ndarray | None, lay: Layout) -> np.ndarray:
    """:func:`fit_skeleton`'s tree walk on NumPy arrays (float64 inside, the input's float dtype out)."""
    p = np.asarray(poses, np.float64)
    lengths = symmetric_bone_lengths(p, lay)[..., None, :] if lengths is None else lengths
    out = np.empty_like(p)
    for j, par, b in _walk(lay):
        if par < 0:
            out[..., j, :] = p[..., j, :]
            continue
        v = p[..., j, :] - p[..., par, :]
        unit = v / np.sqrt((v * v).sum(-1, keepdims=True) + _EPS)
        out[..., j, :] = out[..., par, :] + lengths[..., b, None] * unit
    dtype = np.asarray(poses).dtype
    return out.astype(dtype if dtype.kind == "f" else np.float64)


def fit_skeleton(poses: np.ndarray | torch.Tensor, bone_lengths: np.ndarray | torch.Tensor | None = None,
                 layout: str | Layout = H36M17):
    """Impose bone lengths on ``poses`` ``(..., J, 3)`` while keeping each bone's direction.

    ``bone_lengths``: ``(B,)`` or broadcastable ``(..., B)`` in ``layout.bones`` order (same units as
    the poses, metres by convention).  ``None``: the policy's estimate over the sequence
    (:func:`symmetric_bone_lengths`), which needs ``poses`` of shape ``(..., T, J, 3)`` (time axis
    = ``-3``).  The root joint stays where it is.  A zero-length predicted bone has no direction:
    its child lands on its parent (finite, and the gradient stays finite thanks to a small
    epsilon).  Returns the same type as ``poses``; a single NumPy frame ``(J, 3)`` with given
    lengths takes a fast loop (same rule, same result).
    """
    lay = get_layout(layout)
    check_shape(poses, ["...", lay.num_joints, 3], "poses")
    is_np = _is_np(poses)
    if bone_lengths is not None:
        shape = tuple(np.shape(bone_lengths))
        if not shape or shape[-1] != len(lay.bones):
            raise StructposeError(f"bone_lengths has shape {shape}; expected (..., {len(lay.bones)}) "
                                  f"— one length per bone of {lay.name}, in layout.bones order")
        if _is_np(bone_lengths):
            bad = (np.asarray(bone_lengths) < 0).any() or not np.isfinite(bone_lengths).all()
        else:
            bad = bool((bone_lengths < 0).any()) or not bool(bone_lengths.isfinite().all())  # type: ignore[union-attr]
        if bad:
            raise StructposeError("bone_lengths must be finite and >= 0 (metres)")
        if is_np and _is_np(bone_lengths):
            lengths_np = np.asarray(bone_lengths, np.float64)
            if np.ndim(poses) == 2 and lengths_np.ndim == 1:
                return _fit_one_numpy(np.asarray(poses, np.float64), lengths_np, lay)
            return _fit_numpy(np.asarray(poses), lengths_np, lay)
    if is_np and bone_lengths is None:
        return _fit_numpy(np.asarray(poses), None, lay)
    import torch
    if bone_lengths is not None:
        lengths = torch.as_tensor(np.asarray(bone_lengths) if _is_np(bone_lengths) else bone_lengths)
    p: torch.Tensor = torch.as_tensor(np.asarray(poses, np.float64)) if is_np else poses  # type: ignore[assignment]
    if bone_lengths is None:
        lengths = symmetric_bone_lengths(p, lay).unsqueeze(-2)     # (..., 1, B): same for every frame
    else:
        lengths = lengths.to(dtype=p.dtype, device=p.device)
    out: list[torch.Tensor] = [p[..., 0, :]] * lay.num_joints
    for j, par, b in _walk(lay):
        if par < 0:
            out[j] = p[..., j, :]
            continue
        v = p[..., j, :] - p[..., par, :]
        unit = v / torch.sqrt((v * v).sum(-1, keepdim=True) + _EPS)
        out[j] = out[par] + lengths[..., b].unsqueeze(-1) * unit
    res = torch.stack(out, dim=-2)
    if not is_np:
        return res
    dtype = np.asarray(poses).dtype
    return res.numpy().astype(dtype if dtype.kind == "f" else np.float64)


def fit_sequence(poses: np.ndarray, bone_lengths: np.ndarray | None = None, causal: bool = False,
                 history: int = 300, every: int = EVERY) -> np.ndarray:
    """The fitting policy on one sequence ``(T, 17, 3)`` metres (any root); returns float32, NaN frames NaN.

    ``bone_lengths`` ``(16,)``: imposed on every frame.  Otherwise ``causal=False``: the
    symmetrised median over every finite frame; ``causal=True``: :class:`RunningSkeleton` frame by
    frame (``history`` valid frames, re-estimated every ``every``).  A sequence without a finite
    frame is returned as it is.
    """
    out = np.array(poses, np.float64)
    check_shape(out, ["...", 17, 3], "poses")
    if out.ndim != 3:
        raise StructposeError(f"poses has shape {out.shape}; expected one sequence (T, 17, 3)")
    ok = np.isfinite(out).all((-1, -2))
    if not ok.any():
        return out.astype(np.float32)
    if causal and bone_lengths is None:
        running = RunningSkeleton(history=history, every=every)
        return np.stack([running(p) for p in out]).astype(np.float32)
    lengths = symmetric_bone_lengths(out[ok]) if bone_lengths is None else np.asarray(bone_lengths, np.float64)
    root = out[ok][:, :1]
    out[ok] = fit_skeleton(out[ok] - root, lengths) + root
    return out.astype(np.float32)


class RunningSkeleton:
    """Streaming skeleton fit: the policy's symmetrised median bone lengths over the last ``history``
    valid frames (re-estimated every ``every`` frames: lengths change slowly), imposed on each pose.

    ``pose`` ``(17, 3)`` metres -> ``(17, 3)`` float32; a non-finite pose passes through unchanged
    and does not count.
    """

    def __init__(self, history: int = 300, every: int = EVERY) -> None:
        if int(history) < 1 or int(every) < 1:
            raise StructposeError(f"running skeleton: history={history}, every={every}; expected whole numbers >= 1")
        self._buf: deque[np.ndarray] = deque(maxlen=int(history))
        self._every, self._n = int(every), 0
        self._lengths: np.ndarray | None = None

    @property
    def lengths(self) -> np.ndarray | None:
        """The bone lengths imposed on the last pose ``(16,)`` metres (None before the first)."""
        return self._lengths

    def __call__(self, pose: np.ndarray) -> np.ndarray:
        if not np.isfinite(pose).all():
            return pose
        p = np.asarray(pose, np.float64)
        self._buf.append(bone_lengths(p))
        if self._lengths is None or self._n % self._every == 0:
            self._lengths = symmetrise(np.median(np.stack(self._buf), axis=0))
        self._n += 1
        return _fit_one_levels(p, self._lengths, H36M17).astype(np.float32)  # lengths checked: the fast path
