"""The lifter recipe at scale: balanced families, held-out family, licences recorded with the weights."""
from __future__ import annotations

import numpy as np
import torch

from structpose.data import deepmimic
from structpose.data.clip import Clip
from structpose.models.lifter import load_lifter
from structpose.train.motion_lifter import MotionLifterConfig, draw_balanced, train, training_sets


def test_draw_balanced_takes_each_pool_equally():
    big, small = torch.zeros(100_000, 17, 3), torch.ones(50, 17, 3)
    f = draw_balanced([big, small], 256, torch.Generator().manual_seed(0))
    assert f.shape == (256, 17, 3) and int((f[:, 0, 0] == 1).sum()) == 128


def _families():
    clips = {c.name: c for c in deepmimic.load_all()}
    fake_sie = Clip("deepmimic/sie_run_forward00", "deepmimic", clips["deepmimic/run"].world, 30.0)
    cmu = Clip("cmu/01_01", "cmu", clips["deepmimic/walk"].world, 30.0)
    cmu_test = Clip("cmu/02_01", "cmu", clips["deepmimic/jump"].world, 30.0)
    return {"deepmimic": [clips["deepmimic/walk"], clips["deepmimic/punch"], fake_sie], "cmu": [cmu, cmu_test]}


def test_held_out_family_and_licence_filter():
    fams = _families()
    train_sets, _ = training_sets(fams, MotionLifterConfig(held_out="cmu"))
    assert list(train_sets) == ["deepmimic"]
    assert [c.name for c in train_sets["deepmimic"]] == ["deepmimic/walk", "deepmimic/sie_run_forward00"]
    train_sets, _ = training_sets(fams, MotionLifterConfig(commercial_only=True))
    assert [c.name for c in train_sets["deepmimic"]] == ["deepmimic/walk"]      # sie/ is CC BY-NC
    assert [c.name for c in train_sets["cmu"]] == ["cmu/01_01"]                  # subject 02 is test


def test_weights_record_their_sources_and_licences(tmp_path):
    cfg = MotionLifterConfig(steps=3, batch=16, model={"hidden": 32, "blocks": 1, "dropout": 0.0})
    out = tmp_path / "w.pt"
    summary = train(cfg, out, log=lambda s: None, by_family=_families())
    assert summary["licences"] == {"MIT": 1, "CC BY-NC 4.0": 1, "CMU Graphics Lab: free for research and commercial use": 1}
    ck = torch.load(out, weights_only=True)
    assert ck["extra"]["train"]["sources"] == {"deepmimic": {"clips": 2, "frames": sum(
        c.num_frames for c in _families()["deepmimic"] if c.name != "deepmimic/punch")},
        "cmu": {"clips": 1, "frames": _families()["cmu"][0].num_frames}}
    model = load_lifter(out)
    pose = model.lift(np.random.default_rng(0).normal(size=(2, 17, 2)).astype(np.float32))
    assert pose.shape == (2, 17, 3) and np.isfinite(pose).all()


def test_shipped_variants_record_sources_and_the_commercial_one_is_commercial():
    from structpose.data.motion_sources import commercial_ok
    from structpose.models.lifter import NAMED_WEIGHTS, WEIGHTS_PATH
    for name in ("motion", "motion-commercial"):
        ck = torch.load(WEIGHTS_PATH.parent / NAMED_WEIGHTS[name], weights_only=True)
        tr = ck["extra"]["train"]
        assert tr["licences"] and tr["sources"] and tr["commercial_only"] == (name == "motion-commercial")
        assert load_lifter(name).config.hidden == ck["config"]["hidden"]
    comm = torch.load(WEIGHTS_PATH.parent / NAMED_WEIGHTS["motion-commercial"], weights_only=True)["extra"]["train"]
    assert "bandai" not in comm["sources"]
    assert all(lic in ("MIT", "holosoma-retargeting wheel (Apache-2.0)") or "commercial use" in lic
               for lic in comm["licences"])
    assert commercial_ok("cmu/01_01") and not commercial_ok("bandai/x")


def test_pose_balance_spreads_draws_over_torso_inclination():
    from structpose.train.motion_lifter import pose_weights, torso_inclination
    # 990 upright poses and 10 lying ones (pelvis -> thorax along +x): two occupied 15-degree bins
    world = np.zeros((1000, 17, 3))
    world[:990, 8] = [0.0, 0.5, 0.0]
    world[990:, 8] = [0.5, 0.0, 0.0]
    inc = torso_inclination(world)
    assert np.allclose(inc[:990], 0.0) and np.allclose(inc[990:], 90.0)
    assert np.allclose(pose_weights(world, 0.0), 1 / 1000)
    p = pose_weights(world, 1.0)
    assert np.isclose(p[990:].sum(), 0.5) and np.isclose(p.sum(), 1.0)
    # half balanced: the lying bin gets 0.5 * 10/1000 + 0.5 * 1/2 of the draws
    pools = [torch.as_tensor(world, dtype=torch.float32)]
    w = [torch.as_tensor(pose_weights(world, 0.5))]
    drawn = draw_balanced(pools, 20_000, torch.Generator().manual_seed(1), w).numpy()
    lying = float((torso_inclination(drawn) > 45).mean())
    assert abs(lying - (0.5 * 0.01 + 0.25)) < 0.015
