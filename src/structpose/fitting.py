"""Skeleton fitting: keep every bone's direction, impose bone lengths (paper Sec. 3, Fig. 2).

Walk the kinematic tree from the root: ``child = parent + length * unit(pred_child - pred_parent)``.
Bone lengths are given (a subject's skeleton) or estimated robustly as the per-bone **median** over
the sequence.  Works on numpy arrays (returned as numpy) and torch tensors (differentiable).
"""
from __future__ import annotations

import numpy as np
import torch

from .errors import StructposeError, check_shape
from .skeleton import H36M17, Layout, get_layout

_EPS = 1e-9


def _topological(layout: Layout) -> list[int]:
    order, seen = [], set()
    while len(order) < layout.num_joints:
        progressed = False
        for j, p in enumerate(layout.parents):
            if j not in seen and (p < 0 or p in seen):
                order.append(j), seen.add(j)
                progressed = True
        if not progressed:
            raise StructposeError(f"layout {layout.name} has a cycle in its parents; cannot walk the tree")
    return order


def bone_vectors(poses: torch.Tensor | np.ndarray, layout: str | Layout = H36M17):
    """``(..., B, 3)`` child − parent vectors in ``layout.bones`` order (same units as ``poses``)."""
    lay = get_layout(layout)
    par = [p for p, _ in lay.bones]
    chi = [c for _, c in lay.bones]
    return poses[..., chi, :] - poses[..., par, :]


def median_bone_lengths(poses: np.ndarray | torch.Tensor, layout: str | Layout = H36M17):
    """Per-bone median length over the time axis of ``(..., T, J, 3)`` -> ``(..., B)``.

    NaN frames (missed detections) are ignored; the median resists outlier frames, unlike the mean.
    """
    is_np = not isinstance(poses, torch.Tensor)
    p = torch.as_tensor(np.asarray(poses, np.float64)) if is_np else poses
    if p.ndim < 3:
        raise StructposeError(f"median bone lengths need a sequence (T, J, 3); got shape {tuple(p.shape)}")
    lengths = bone_vectors(p, layout).norm(dim=-1)              # (..., T, B)
    med = lengths.nanmedian(dim=-2).values
    if torch.isnan(med).any():
        raise StructposeError("cannot estimate bone lengths: a sequence has no finite frame")
    return med.numpy() if is_np else med


def fit_skeleton(poses: np.ndarray | torch.Tensor, bone_lengths: np.ndarray | torch.Tensor | None = None,
                 layout: str | Layout = H36M17):
    """Impose bone lengths on ``poses`` ``(..., J, 3)`` while keeping each bone's direction.

    ``bone_lengths``: ``(B,)`` or broadcastable ``(..., B)`` in ``layout.bones`` order (same units as
    the poses, metres by convention).  ``None``: the per-bone median over the sequence, which needs
    ``poses`` of shape ``(..., T, J, 3)`` (time axis = ``-3``).  The root joint stays where it is.
    A zero-length predicted bone has no direction: its child lands on its parent (finite, and the
    gradient stays finite thanks to a small epsilon).  Returns the same type as ``poses``.
    """
    lay = get_layout(layout)
    check_shape(poses, ["...", lay.num_joints, 3], "poses")
    is_np = not isinstance(poses, torch.Tensor)
    p = torch.as_tensor(np.asarray(poses, np.float64)) if is_np else poses
    if bone_lengths is None:
        lengths = median_bone_lengths(p, lay).unsqueeze(-2)     # (..., 1, B): same for every frame
    else:
        lengths = torch.as_tensor(np.asarray(bone_lengths) if not isinstance(bone_lengths, torch.Tensor)
                                  else bone_lengths, dtype=p.dtype, device=p.device)
        if lengths.shape[-1] != len(lay.bones):
            raise StructposeError(f"bone_lengths has shape {tuple(lengths.shape)}; expected (..., {len(lay.bones)}) "
                                  f"— one length per bone of {lay.name}, in layout.bones order")
        if (lengths < 0).any() or not torch.isfinite(lengths).all():
            raise StructposeError("bone_lengths must be finite and >= 0 (metres)")
    bone_of_child = {c: b for b, (_, c) in enumerate(lay.bones)}
    out: list[torch.Tensor | None] = [None] * lay.num_joints
    for j in _topological(lay):
        par = lay.parents[j]
        if par < 0:
            out[j] = p[..., j, :]
            continue
        v = p[..., j, :] - p[..., par, :]
        unit = v / torch.sqrt((v * v).sum(-1, keepdim=True) + _EPS)
        out[j] = out[par] + lengths[..., bone_of_child[j]].unsqueeze(-1) * unit
    res = torch.stack(out, dim=-2)
    return res.numpy().astype(np.asarray(poses).dtype if np.asarray(poses).dtype.kind == "f" else np.float64) \
        if is_np else res
