"""The demo's measurements: structural validity of real mocap, and the whole chain on held-out motion.

Held-out clips (the test split: motion no model saw in training), each seen by its own sampled
virtual camera, 2D keypoints corrupted like a detector's (:mod:`structpose.data.detector_noise`):
lifter alone -> + TP-Net (online, bidirectional) -> + skeleton fitting, scored against the ground
truth.  ``structpose demo`` prints these and writes the files.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

#: (label, temporal mode, fit) of each stage of the whole-chain table
STAGES = (("lifter alone", "none", False), ("+ TP-Net online", "online", False),
          ("+ TP-Net online + fit", "online", True), ("+ TP-Net bidirectional", "bidirectional", False),
          ("+ TP-Net bidir. + fit", "bidirectional", True))


def structural_validity(poses_list: list[np.ndarray]) -> tuple[float, float, float]:
    """Table 6 measures over sequences ``(T, 17, 3)`` m: (symmetry mm, bone-length std mm, illegal %)."""
    from .. import metrics
    sym = np.concatenate([np.atleast_1d(metrics.symmetry_error(p, reduction="none")) for p in poses_list])
    std = [float(metrics.bone_length_std(p)) for p in poses_list if len(p) > 1]
    ill = np.concatenate([np.atleast_1d(metrics.illegal_angle_ratio(p, reduction="none")) for p in poses_list])
    return 1000 * float(np.mean(sym)), 1000 * float(np.mean(std)), float(np.mean(ill))


@dataclass
class Case:
    """One held-out clip seen by one camera: noisy 2D (pixels), the detector's mask, the ground truth."""

    name: str
    fps: float
    camera: Any
    uv: np.ndarray
    mask: np.ndarray
    gt: np.ndarray


def held_out_cases(clips: list, seed: int) -> list[Case]:
    """Per clip: a sampled virtual camera, the projection, detector-like 2D noise (seeded)."""
    import torch

    from ..cameras import project_clip, sample_virtual_camera
    from ..data.detector_noise import DetectorNoise, detector_noise
    rng = np.random.default_rng(seed)
    g = torch.Generator().manual_seed(seed)
    cfg = DetectorNoise()
    out = []
    for c in clips:
        cam = sample_virtual_camera(rng, c.world)
        uv, gt = project_clip(c, cam)
        noisy, mask = detector_noise(torch.as_tensor(uv, dtype=torch.float32), cfg, g)
        out.append(Case(c.name, c.fps, cam, noisy.numpy(), mask.numpy(), gt))
    return out


def whole_chain(cases: list[Case]) -> Iterator[tuple[str, dict, list]]:
    """Each stage of :data:`STAGES` on every case: yields ``(label, metrics over the cases, sequences)``."""
    from .. import metrics
    from ..pipeline.lifting import PoseLifter, lift_sequence
    for label, mode, fit in STAGES:
        seqs = []
        for c in cases:
            lifter = PoseLifter(focal_px=float(c.camera.f[0]))
            seqs.append(lift_sequence(c.uv, c.mask.astype(np.float32), c.fps, c.camera.image_size, mode=mode,
                                      fit=fit, lifter=lifter))
        r = metrics.evaluate_sequences([s.poses_3d for s in seqs], [c.gt for c in cases], names=[c.name for c in cases])
        yield label, r, seqs
