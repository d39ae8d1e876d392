"""The 2D detector noise model (data.detector_noise): its switches do what they say, and the demo's
defaults are the lifter's training noise."""
from __future__ import annotations

from dataclasses import fields

import torch

from structpose.data.detector_noise import DetectorNoise, detector_noise
from structpose.skeleton import H36M17


def test_defaults_are_the_lifters_training_noise():
    from structpose.train.lifter import LifterTrainConfig
    train = LifterTrainConfig()
    for f in fields(DetectorNoise):
        assert getattr(DetectorNoise(), f.name) == getattr(train, f.name), f.name


def test_switches():
    g = torch.Generator().manual_seed(0)
    uv = torch.rand(64, 17, 2) * 500
    out, mask = detector_noise(uv, DetectorNoise(0.0, 0.0, 0.0, 0.0, 0.0), g)
    assert torch.equal(out, uv) and bool((mask == 1).all())
    _, mask = detector_noise(uv, DetectorNoise(0.0, 0.0, 0.0, 1.0, 0.0), g)
    legs = [H36M17.index(n) for n in ("r_knee", "r_ankle", "l_knee", "l_ankle")]
    assert bool((mask[:, legs] == 0).all()) and bool((mask.sum(1) == 13).all())
    out, _ = detector_noise(uv, DetectorNoise(0.1, 0.0, 0.0, 0.0, 0.0), g)
    rad = (uv - uv.mean(1, keepdim=True)).square().sum(-1).mean(-1).sqrt()
    err = (out - uv).std(dim=(1, 2))
    assert bool((err <= 0.1 * rad * 1.6).all()) and float(err.mean()) > 0.01 * float(rad.mean())
