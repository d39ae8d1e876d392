"""Detector error measures (analysis.detector_errors) and the render-pair lifter helpers, on made-up
detections whose errors are known by construction."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from structpose.analysis.detector_errors import LIMBS, PAIRS, detector_errors, torso_height
from structpose.errors import StructposeError
from structpose.skeleton import H36M17


def _true(n: int = 50) -> np.ndarray:
    rng = np.random.default_rng(0)
    base = np.zeros((17, 2))
    for j, name in enumerate(H36M17.names):
        side = -1 if name.startswith("r_") else 1 if name.startswith("l_") else 0
        base[j] = [side * (40 if "shoulder" in name or "elbow" in name or "wrist" in name else 20), j * 10]
    return base + rng.normal(0, 3, (n, 17, 2)) + rng.uniform(100, 300, (n, 1, 2))


def test_perfect_detections_score_perfectly():
    t = _true()
    e = detector_errors(t.copy(), np.ones(len(t), bool), t)
    assert e["detection_rate"] == 1 and e["median_err"] == 0 and e["pck"] == 1
    assert e["swap_rate"] == 0 and e["flip_rate"] == 0


def test_error_is_in_torso_heights():
    t = _true()
    d = t.copy()
    th = torso_height(t)
    d[:, list(LIMBS), 0] += 0.1 * th[:, None]                  # every limb joint off by 0.1 torso
    e = detector_errors(d, np.ones(len(t), bool), t)
    assert abs(e["median_err"] - 0.1) < 1e-9 and e["pck"] == 1
    d[:, list(LIMBS), 0] += 0.2 * th[:, None]
    assert detector_errors(d, np.ones(len(t), bool), t)["pck"] == 0


def test_mirrored_detections_are_swaps_and_flips_and_misses_count():
    t = _true()
    d = t[:, list(H36M17.flip_permutation)]                    # left and right exchanged
    found = np.ones(len(t), bool)
    found[::5] = False
    d[~found] = np.nan
    e = detector_errors(d, found, t)
    assert e["detection_rate"] == pytest.approx(0.8)
    assert e["swap_rate"] == 1 and e["flip_rate"] == 1 and len(PAIRS) == 6


def test_shape_mismatch_is_one_line():
    with pytest.raises(StructposeError, match="must be"):
        detector_errors(np.zeros((3, 17, 2)), np.ones(2, bool), np.zeros((3, 17, 2)))


def test_render_samples_turn_2d_and_3d_by_the_same_rotation():
    from structpose.train.lifter_renders import render_samples
    rng = np.random.default_rng(1)
    n, j = 6, H36M17.index
    cam = rng.normal(0, 0.3, (n, 17, 3)) + np.array([0.8, -0.3, 4.0])      # people off the axis
    cam[:, j("pelvis")] = 0.5 * (cam[:, j("l_hip")] + cam[:, j("r_hip")])
    f = np.full((n, 2), 800.0)
    c = np.tile([320.0, 240.0], (n, 1))
    uv = cam[..., :2] / cam[..., 2:] * f[:, None] + c[:, None]
    pairs = {"det_found": np.ones(n, bool), "clip": np.array(["a"] * n), "det_2d": uv.astype(np.float32),
             "det_scores": np.ones((n, 17), np.float32), "focal": f, "centre": c, "joints_cam": cam}
    s = render_samples(pairs)
    rel, xy, root = (s[k][:n].numpy().astype(np.float64) for k in ("rel", "xy", "root"))
    # the 2D hips' midpoint ray is turned onto the optical axis: the pelvis lands near the principal point
    # (0), within the perspective difference between a 2D and a 3D midpoint; before, it was ~200 px off
    assert np.abs(xy[:, j("pelvis")]).max() < 0.01 * 800
    assert np.abs(uv[:, j("pelvis")] - c).max() > 100
    # exact detections: the turned 3D, placed at its depth on the axis, projects onto the turned 2D
    turned = rel + root[:, None]
    np.testing.assert_allclose(turned[..., :2] / turned[..., 2:] * 800.0, xy, atol=0.05)
    assert np.abs(root[:, :2] / root[:, 2:]).max() < 0.01         # the pelvis near the axis
    # a rotation keeps lengths
    np.testing.assert_allclose(np.linalg.norm(rel[:, 3] - rel[:, 2], axis=-1),
                               np.linalg.norm(cam[:, 3] - cam[:, 2], axis=-1), rtol=1e-5)
    # the mirrored half is the mirror image
    np.testing.assert_allclose(s["rel"][n:, :, 0].numpy(),
                               -s["rel"][:n][:, list(H36M17.flip_permutation), 0].numpy(), atol=1e-6)
    assert torch.isfinite(s["xy"]).all()
