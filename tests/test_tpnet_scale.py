"""TP-Net at scale: windows drawn balanced over families, rigidly viewed, consecutive in the source clip."""
from __future__ import annotations

import numpy as np

from structpose.data.clip import Clip
from structpose.train.tpnet_scale import FamilyWindows, ScaleTPNetConfig, evaluate, train
from structpose.train.tpnet_scale import test_set as make_test_set


def _clip(name: str, base: float, frames: int, rng: np.random.Generator) -> Clip:
    # joint 1 (r_hip) sits base + 0.001 * t from the pelvis along a random direction: distance encodes the frame
    w = np.zeros((frames, 17, 3), np.float32)
    w[:, 0] = rng.normal(0, 1, 3)
    d = rng.normal(size=3)
    w[:, 1] = w[:, 0] + (base + 0.001 * np.arange(frames))[:, None] * (d / np.linalg.norm(d))
    w[:, 2:] = w[:, :1] + rng.normal(0, 0.3, (1, 15, 3))
    return Clip(name, name.split("/")[0], w, 30.0)


def test_windows_balanced_rigid_and_consecutive():
    rng = np.random.default_rng(0)
    fams = {"big": [_clip(f"big/c{i}", 1.0, 400, rng) for i in range(5)], "small": [_clip("small/c0", 2.0, 30, rng)]}
    data = FamilyWindows(fams)
    offsets = np.arange(-3, 2)
    win = data.sample(400, offsets, (1.0,), 20.0, rng)
    assert win.shape == (400, 5, 17, 3)
    assert np.abs(win[:, :, 0]).max() < 1e-6                                   # root-relative
    dist = np.linalg.norm(win[:, :, 1], axis=-1)
    assert int((dist[:, 0] > 1.5).sum()) == 200                              # half from each family
    steps = np.diff(dist, axis=1)                                             # consecutive source frames
    ok = np.isclose(steps, 0.001, atol=1e-5) | np.isclose(steps, 0.0, atol=1e-5)   # 0: the clip's end repeated
    assert ok.all() and np.isclose(steps, 0.001, atol=1e-5).mean() > 0.9
    # the camera only rotates: distances between joints are those of the source frame
    src = {round(float(np.linalg.norm(c.world[0, 3] - c.world[0, 2])), 5) for cs in fams.values() for c in cs}
    d23 = np.linalg.norm(win[:, :, 3] - win[:, :, 2], axis=-1)
    assert np.allclose(d23, d23[:, :1], atol=1e-5)
    assert all(min(abs(v - s) for s in src) < 1e-4 for v in d23[:, 0])
    # speed 2: two source frames per window step
    win2 = data.sample(50, offsets, (2.0,), 0.0, rng)
    s2 = np.diff(np.linalg.norm(win2[:, :, 1], axis=-1), axis=1)
    assert (np.isclose(s2, 0.002, atol=1e-5) | np.isclose(s2, 0.0, atol=1e-5) | np.isclose(s2, 0.001, atol=1e-5)).all()


def test_evaluate_input_row_is_the_plain_error_and_training_runs():
    rng = np.random.default_rng(1)
    fams = {"a": [_clip("a/c0", 1.0, 60, rng)], "b": [_clip("b/c0", 1.0, 60, rng)]}
    tests = make_test_set(fams, frames=40, seeds=1)
    res = evaluate(None, tests)
    for f, rows in tests.items():
        (_, clean, noisy), = rows
        direct = 1000 * np.linalg.norm((noisy - noisy[:, :1]) - clean, axis=-1).mean()
        assert np.isclose(res[f]["mpjpe"], direct, rtol=1e-5)
    assert np.isclose(res["mean"]["mpjpe"], (res["a"]["mpjpe"] + res["b"]["mpjpe"]) / 2)
    cfg = ScaleTPNetConfig(model={"kind": "tpnet", "window": 4, "mode": "online", "hidden": [32],
                                  "representation": "relative"}, steps=3, batch_size=8)
    net, _ = train(cfg, FamilyWindows(fams), log=lambda s: None)
    out = evaluate(net, tests)
    assert np.isfinite(out["mean"]["mpjpe"]) and np.isfinite(out["mean"]["mpjve"])
