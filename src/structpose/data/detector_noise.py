"""A model of a 2D detector's errors, applied to clean projected keypoints (the lifter's training input,
and the demo's and benchmarks' held-out input).

Per sample: Gaussian jitter with a random std up to ``noise_frac`` of the pose's RMS radius;
outliers (probability ``outlier_prob`` per joint, offset ~0.3 x radius); missed joints (masked,
``drop_prob``); legs cut off by the frame (knees and ankles masked, ``crop_legs_prob``); a hidden
forearm (elbow and wrist masked, ``drop_arm_prob`` split between the sides).  Seeded by a
``torch.Generator``.  The 3D counterpart (per-frame 3D estimator errors) is
:mod:`structpose.data.error_model`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch

from ..skeleton import H36M17


class NoiseParams(Protocol):
    noise_frac: float
    outlier_prob: float
    drop_prob: float
    crop_legs_prob: float
    drop_arm_prob: float


@dataclass(frozen=True)
class DetectorNoise:
    """The parameters of :func:`detector_noise` (the lifter's training config carries the same fields)."""

    noise_frac: float = 0.04       # max per-sample std of 2D noise, fraction of the RMS radius
    outlier_prob: float = 0.02
    drop_prob: float = 0.04
    crop_legs_prob: float = 0.08
    drop_arm_prob: float = 0.05


_LEGS = [H36M17.index(n) for n in ("r_knee", "r_ankle", "l_knee", "l_ankle")]
_ARMS = [[H36M17.index(f"{s}_{n}") for n in ("elbow", "wrist")] for s in "lr"]


def detector_noise(uv: torch.Tensor, cfg: NoiseParams, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Detector-like 2D: ``uv (B, 17, 2)`` pixels -> ``(noisy uv (B, 17, 2), mask (B, 17))`` (0 = missed)."""
    B = uv.shape[0]
    rad = (uv - uv.mean(1, keepdim=True)).square().sum(-1).mean(-1).sqrt()
    sigma = cfg.noise_frac * torch.rand(B, 1, 1, generator=g) * rad[:, None, None]
    out = uv + sigma * torch.randn(uv.shape, generator=g)
    outl = torch.rand(B, 17, 1, generator=g) < cfg.outlier_prob
    out = torch.where(outl, out + 0.3 * rad[:, None, None] * torch.randn(uv.shape, generator=g), out)
    mask = (torch.rand(B, 17, generator=g) >= cfg.drop_prob).float()
    crop = torch.rand(B, generator=g) < cfg.crop_legs_prob
    mask[crop[:, None] & torch.isin(torch.arange(17), torch.tensor(_LEGS))[None]] = 0
    for a in _ARMS:
        hide = torch.rand(B, generator=g) < cfg.drop_arm_prob / 2
        mask[hide[:, None] & torch.isin(torch.arange(17), torch.tensor(a))[None]] = 0
    return out, mask
