"""The paper's losses in torch: structure-aware weak supervision (Eqs. 1-3, Zhou's Lg) and SAP-Net's terms.

Poses are ``(..., 17, 3)`` H36M-17 in the right-handed camera frame (x right, y down, z forward);
every loss is batched over the leading dims, computes one value per pose and then applies
``reduction`` like torch's losses: ``"mean"`` (over all leading dims), ``"sum"`` or ``"none"``
(shape = the leading dims).  Values *and gradients* stay finite on degenerate poses (all zeros,
coincident joints, zero-length bones): every length and direction goes through
:func:`structpose.geometry.safe_norm` / :func:`~structpose.geometry.safe_unit`.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch

from .errors import StructposeError, check_shape
from .geometry import bone_index, bone_lengths, limb_legality, smooth_bone_lengths
from .skeleton import BONE_GROUPS, H36M17, SYMMETRIC_BONES, Layout

REDUCTIONS = ("mean", "sum", "none")

#: Canonical H36M-17 bone lengths (metres, ``H36M17.bones`` order) for Lg, from the real training
#: mocap: the per-source mean over all frames of (a) the 20 DeepMimic clips (one humanoid, 1,810
#: frames) and (b) the 5 holosoma climbing sequences (one performer, 12,939 frames), averaged over
#: the two sources so the larger one does not dominate, then left/right twins averaged.
#: Recompute with ``canonical_bone_lengths([deepmimic poses, holosoma poses])``
#: (``tests/test_losses.py`` checks this constant against that recomputation).
CANONICAL_BONE_LENGTHS: tuple[float, ...] = (
    0.0912, 0.3981, 0.4311, 0.0912, 0.3981, 0.4311, 0.2745, 0.2402,
    0.1636, 0.1273, 0.1740, 0.2936, 0.2569, 0.1740, 0.2936, 0.2569,
)


def canonical_bone_lengths(pose_sets: Iterable[np.ndarray], layout: Layout = H36M17) -> np.ndarray:
    """Mean bone lengths of each set (e.g. one per mocap source), averaged over sets and over twins.

    ``pose_sets``: iterable of ``(N_i, J, 3)`` arrays, metres -> ``(B,)`` metres in ``layout.bones`` order.
    """
    means = [bone_lengths(np.asarray(p, dtype=np.float64), layout).reshape(-1, len(layout.bones)).mean(0)
             for p in pose_sets]
    if not means:
        raise StructposeError("canonical_bone_lengths needs at least one set of poses")
    mean = np.mean(means, axis=0)
    return 0.5 * (mean + mean[layout.bone_twins])    # twin of (p, c) is (flip[p], flip[c])


def _reduce(per_pose: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return per_pose.mean()
    if reduction == "sum":
        return per_pose.sum()
    if reduction == "none":
        return per_pose
    raise StructposeError(f"unknown reduction {reduction!r}; choose one of {', '.join(REDUCTIONS)}")


def _lengths(poses: torch.Tensor, bones: Sequence[tuple[int, int]]) -> torch.Tensor:
    """(..., 17, 3) -> (..., len(bones)) lengths of the named H36M-17 bones, smooth at zero length."""
    index = bone_index(H36M17)
    return smooth_bone_lengths(poses)[..., [index[b] for b in bones]]


def bone_ratio_loss(poses: torch.Tensor, canonical_lengths: Sequence[float] | torch.Tensor | None = None,
                    reduction: str = "mean") -> torch.Tensor:
    """Zhou et al.'s geometric loss Lg: within each bone group the length ratios stay fixed.

    ``Lg = sum_i 1/|R_i| sum_{e in R_i} (l_e / lbar_e - rbar_i)^2`` with ``rbar_i`` the mean ratio of
    group ``R_i`` (:data:`structpose.skeleton.BONE_GROUPS`: arms, legs, shoulders, hips).
    ``poses``: (..., 17, 3), same units as ``canonical_lengths`` ((16,) in ``H36M17.bones`` order,
    default :data:`CANONICAL_BONE_LENGTHS`, metres).  Per pose: dimensionless, quadratic in the
    pose's scale relative to the canonical skeleton.
    """
    check_shape(poses, ["...", 17, 3], "poses")
    canon = torch.as_tensor(CANONICAL_BONE_LENGTHS if canonical_lengths is None else canonical_lengths,
                            dtype=poses.dtype, device=poses.device)
    if canon.shape != (16,):
        raise StructposeError(f"canonical_lengths has shape {tuple(canon.shape)}; expected (16,) in H36M17.bones order")
    index = bone_index(H36M17)
    total = poses.new_zeros(poses.shape[:-2])
    for group in BONE_GROUPS:
        ratios = _lengths(poses, group) / canon[[index[b] for b in group]]
        total = total + ((ratios - ratios.mean(-1, keepdim=True)) ** 2).mean(-1)
    return _reduce(total, reduction)


def illegal_angle_loss(poses: torch.Tensor, margin: float = 0.0, reference: str = "collar",
                       reduction: str = "mean") -> torch.Tensor:
    """Eq. 1: penalise elbows and knees bent the anatomically impossible way.

    For each limb ``E = min(g + margin, 0)`` with ``g`` the signed, scale-free legality of
    :func:`structpose.geometry.limb_legality` (>= 0 legal), and the limb contributes
    ``-E * exp(-E) >= 0``; summed over both elbows and knees this is exactly the paper's
    ``La = -E_e^r e^{-E_e^r} + E_e^l e^{E_e^l} + E_k^r e^{E_k^r} - E_k^l e^{-E_k^l}``, with the sign
    flips of the left elbow and right knee folded into ``g``.  ``margin = 0`` is the paper's formula;
    a small positive margin (e.g. 0.05) tolerates near-straight limbs and arms raised along the
    shoulder line, where the reference plane is ill-defined.  ``reference="torso"`` uses the
    torso-anchored elbow reference of :func:`~structpose.geometry.limb_legality`, which halves the
    false alarms on real motion (``docs/illegal_angle.md``); ``"collar"`` is the paper's.
    ``poses``: (..., 17, 3), any units -> per pose in [0, 4e] (dimensionless).
    """
    check_shape(poses, ["...", 17, 3], "poses")
    if margin < 0:
        raise StructposeError(f"margin is {margin}; expected >= 0 (0 = the paper's Eq. 1)")
    E = (limb_legality(poses, reference=reference) + margin).clamp(max=0.0)
    return _reduce((-E * torch.exp(-E)).sum(-1), reduction)


def symmetry_loss(poses: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Eq. 2: ``Ls = sum_b (BL_b - BL_C(b))^2`` over the right limb bones and their left twins.

    Bones: upper arm, forearm, thigh, shin (:data:`structpose.skeleton.SYMMETRIC_BONES`).
    ``poses``: (..., 17, 3), metres -> per pose in metres^2.
    """
    check_shape(poses, ["...", 17, 3], "poses")
    right = _lengths(poses, [r for r, _ in SYMMETRIC_BONES])
    left = _lengths(poses, [l for _, l in SYMMETRIC_BONES])
    return _reduce(((right - left) ** 2).sum(-1), reduction)


def with_gt_xy(pred_3d: torch.Tensor, gt_xy: torch.Tensor) -> torch.Tensor:
    """The weakly supervised pose (gt x, gt y, predicted z): (..., 17, 3 or 1) and (..., 17, 2) -> (..., 17, 3)."""
    check_shape(gt_xy, ["...", 17, 2], "gt_xy")
    if pred_3d.shape[-1] not in (1, 3) or pred_3d.shape[:-1] != gt_xy.shape[:-1]:
        raise StructposeError(f"pred_3d has shape {tuple(pred_3d.shape)}; with gt_xy of shape "
                              f"{tuple(gt_xy.shape)} expected (..., 17, 3) or (..., 17, 1) depths")
    return torch.cat([gt_xy.to(pred_3d.dtype), pred_3d[..., -1:]], dim=-1)


def structure_aware_loss(pred_3d: torch.Tensor, gt_xy: torch.Tensor | None = None, lambda_a: float = 0.03,
                         lambda_g: float = 0.03, lambda_s: float = 0.05,
                         canonical_lengths: Sequence[float] | torch.Tensor | None = None,
                         margin: float = 0.0, angle_reference: str = "collar",
                         reduction: str = "mean") -> torch.Tensor:
    """Eq. 3: ``L_SA = lambda_a La + lambda_s Ls + lambda_g Lg``.

    With ``gt_xy`` (..., 17, 2) the losses are evaluated on (gt x, gt y, predicted z) -- the paper's
    weak supervision of depth on 2D-only samples; then only ``pred_3d[..., 2]`` (or a (..., 17, 1)
    depth array) receives gradients.  ``gt_xy`` must be in the same metric units and frame as the
    depths (e.g. camera-frame metres, or the lifter's normalised coordinates with matching
    ``canonical_lengths``).  Without ``gt_xy`` the full predicted 3D pose is used.  ``margin`` and
    ``angle_reference`` pass to :func:`illegal_angle_loss` (defaults: the paper's Eq. 1).
    """
    poses = pred_3d if gt_xy is None else with_gt_xy(pred_3d, gt_xy)
    check_shape(poses, ["...", 17, 3], "pred_3d")
    total = (lambda_a * illegal_angle_loss(poses, margin=margin, reference=angle_reference, reduction="none")
             + lambda_s * symmetry_loss(poses, reduction="none")
             + lambda_g * bone_ratio_loss(poses, canonical_lengths, reduction="none"))
    return _reduce(total, reduction)


def heatmap_mse_loss(pred: torch.Tensor, target: torch.Tensor, joint_weights: torch.Tensor | None = None,
                     reduction: str = "mean") -> torch.Tensor:
    """SAP-Net's L_HM: mean squared error to Gaussian target heatmaps, per image.

    ``pred``, ``target``: (..., J, H, W); stack outputs for intermediate supervision along a leading
    dim (``target`` broadcasts).  ``joint_weights`` (..., J) (e.g. visibility 0/1) scales each
    joint's term.  Per image: mean over joints of ``w_j * mean_{h,w} (pred - target)^2``.
    """
    if pred.ndim < 3:
        raise StructposeError(f"heatmaps have shape {tuple(pred.shape)}; expected (..., J, H, W)")
    try:
        err = ((pred - target) ** 2).mean((-1, -2))                    # (..., J)
        if joint_weights is not None:
            err = err * joint_weights.to(err.dtype)
    except RuntimeError:
        raise StructposeError(f"heatmap shapes do not match: pred {tuple(pred.shape)}, target {tuple(target.shape)}"
                              + ("" if joint_weights is None else f", weights {tuple(joint_weights.shape)}")) from None
    return _reduce(err.mean(-1), reduction)


def depth_l2_loss(pred_z: torch.Tensor, gt_z: torch.Tensor, mask: torch.Tensor | None = None,
                  reduction: str = "mean") -> torch.Tensor:
    """L_e for 3D-annotated samples: squared Euclidean error of root-relative depths, per pose.

    ``pred_z``, ``gt_z``: (..., J) metres; ``mask`` (..., J) of 0/1 for known joints.  Per pose:
    ``sum_j m_j (z_j - zhat_j)^2 / max(sum_j m_j, 1)`` (metres^2), i.e. the mean over known joints.
    """
    if pred_z.shape != gt_z.shape:
        raise StructposeError(f"pred_z has shape {tuple(pred_z.shape)} but gt_z has {tuple(gt_z.shape)}")
    sq = (pred_z - gt_z) ** 2
    if mask is None:
        return _reduce(sq.mean(-1), reduction)
    m = mask.to(sq.dtype).expand_as(sq)
    sq = torch.where(m > 0, sq, torch.zeros_like(sq))      # a NaN target under a zero mask must not leak
    return _reduce((sq * m).sum(-1) / m.sum(-1).clamp_min(1.0), reduction)
