"""Training cameras: the subject's angle off the optical axis follows ``off_axis_deg``."""
from __future__ import annotations

import math

import torch

from structpose.train.lifter import LifterTrainConfig, views


def _pelvis_angles(cfg: LifterTrainConfig, world: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    cam, uv, f = views(world, cfg, torch.Generator().manual_seed(3))
    p = cam[:, 0]
    # the pixel position must agree with the camera-frame pelvis (pinhole, principal point 0)
    assert torch.allclose(uv[:, 0], p[:, :2] / p[:, 2:] * f[:, None], atol=1e-3)
    return torch.rad2deg(torch.atan2(p[:, 0], p[:, 2])), torch.rad2deg(torch.atan2(p[:, 1], p[:, 2]))


def test_subject_stays_within_the_configured_off_axis_cone(deepmimic_clips):
    world = torch.as_tensor(deepmimic_clips[0].world[:200], dtype=torch.float32)
    for deg in (10.0, 38.0):
        ax, ay = _pelvis_angles(LifterTrainConfig(off_axis_deg=deg), world)
        assert ax.abs().max() <= deg + 1e-3
        # y offset is 0.6 x the tangent of the x draw
        assert ay.abs().max() <= math.degrees(math.atan(0.6 * math.tan(math.radians(deg)))) + 1e-3
        assert ax.abs().max() > 0.8 * deg            # the cone is actually used, not just bounded


def test_zero_off_axis_centres_the_pelvis():
    world = torch.randn(64, 17, 3) * 0.3 + torch.tensor([0.0, 1.0, 0.0])
    ax, ay = _pelvis_angles(LifterTrainConfig(off_axis_deg=0.0), world)
    assert ax.abs().max() < 1e-3 and ay.abs().max() < 1e-3


def test_default_config_cameras_use_its_cone(deepmimic_clips):
    """The default cone (what configs/lifter.yaml and the shipped lifter, which predate the field, train
    with) is wired to the camera sampler: bounded by it and filling it."""
    cfg = LifterTrainConfig()
    world = torch.as_tensor(deepmimic_clips[1].world[:200], dtype=torch.float32)
    ax, _ = _pelvis_angles(cfg, world)
    assert ax.abs().max() <= cfg.off_axis_deg + 1e-3 and ax.abs().max() > 0.8 * cfg.off_axis_deg
    from pathlib import Path
    for path in (Path(__file__).parents[1] / "configs" / "lifter.yaml",
                 Path(__file__).parents[1] / "src" / "structpose" / "weights" / "lifter.yaml"):
        assert LifterTrainConfig.from_yaml(path).off_axis_deg == cfg.off_axis_deg
