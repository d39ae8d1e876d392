"""Metrics against independent computations (per-pose loops, scipy, closed forms) and real-mocap facts."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from structpose.errors import StructposeError
from structpose.geometry import mirror_limb
from structpose.metrics import (
    aggregate_by,
    auc3d,
    bone_length_std,
    evaluate_sequences,
    illegal_angle_ratio,
    mpjpe,
    mpjve,
    n_mpjpe,
    pa_mpjpe,
    pck3d,
    per_action,
    root_relative,
    symmetry_error,
)


@pytest.fixture(scope="module")
def pair(deepmimic_camera_poses):
    gt = root_relative(deepmimic_camera_poses[::7].astype(np.float64))
    rng = np.random.default_rng(0)
    pred = gt + rng.normal(0, 0.04, gt.shape)
    return pred, gt


def _loop_pa(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """PA-MPJPE per pose via scipy's Kabsch (proper rotations only) and the closed-form scale."""
    out = []
    for p, g in zip(pred, gt):
        x, y = p - p.mean(0), g - g.mean(0)
        rot, _ = Rotation.align_vectors(y, x)
        xr = x @ rot.as_matrix().T
        s = (xr * y).sum() / (x * x).sum()
        out.append(np.linalg.norm(s * xr - y, axis=1).mean())
    return np.array(out)


@pytest.mark.parametrize("source", ["random", "real"])
def test_pa_mpjpe_matches_scipy_loop(source, pair):
    if source == "random":
        rng = np.random.default_rng(1)
        gt = rng.normal(0, 0.3, (150, 17, 3))
        pred = gt @ Rotation.random(random_state=1).as_matrix().T * 1.3 + rng.normal(0, 0.1, gt.shape)
    else:
        pred, gt = pair
    want = _loop_pa(pred, gt)
    assert np.allclose(pa_mpjpe(pred, gt, reduction="none"), want, atol=1e-6)
    assert abs(pa_mpjpe(pred, gt) - want.mean()) < 1e-6
    got_t = pa_mpjpe(torch.from_numpy(pred), torch.from_numpy(gt), reduction="none")
    assert isinstance(got_t, torch.Tensor) and np.allclose(got_t.numpy(), want, atol=1e-6)
    # chunking is invisible
    assert np.allclose(pa_mpjpe(pred, gt, reduction="none", chunk=7), want, atol=1e-6)


def test_pa_mpjpe_of_a_similar_copy_is_zero(deepmimic_camera_poses):
    gt = deepmimic_camera_poses[::11].astype(np.float64)
    R = Rotation.random(len(gt), random_state=2).as_matrix()
    moved = 2.5 * gt @ R.transpose(0, 2, 1) + np.array([1.0, -3.0, 7.0])
    assert pa_mpjpe(moved, gt) < 1e-9
    assert mpjpe(moved, gt) > 0.5                     # without alignment the copy is far away


def test_reflections_do_not_lower_pa_mpjpe(deepmimic_camera_poses):
    gt = root_relative(deepmimic_camera_poses[::13].astype(np.float64))
    mirrored = gt * np.array([-1.0, 1.0, 1.0])       # a mirror image: left and right swapped in space
    err = pa_mpjpe(mirrored, gt, reduction="none")
    assert (err > 0.01).all()                        # a reflection would fit exactly; it is not allowed
    assert np.allclose(err, _loop_pa(mirrored, gt), atol=1e-6)


def test_mpjpe_n_mpjpe_pck_auc_closed_forms(pair):
    pred, gt = pair
    d = np.sqrt(((pred - gt) ** 2).sum(-1))
    assert abs(mpjpe(pred, gt) - d.mean()) < 1e-12
    assert mpjpe(torch.from_numpy(pred), torch.from_numpy(gt)).item() == pytest.approx(d.mean(), abs=1e-12)
    # N-MPJPE: the optimal scale minimises the *squared* error, so scanning scales near it cannot beat it in L2
    s = (pred * gt).sum((1, 2)) / (pred * pred).sum((1, 2))
    assert abs(n_mpjpe(pred, gt) - np.sqrt(((s[:, None, None] * pred - gt) ** 2).sum(-1)).mean()) < 1e-12
    for ds in (-0.01, 0.01):
        sq = lambda k: (((k[:, None, None] * pred - gt) ** 2).sum((1, 2)))
        assert (sq(s + ds) >= sq(s)).all()
    assert n_mpjpe(2.0 * gt, gt) < 1e-12
    assert pck3d(pred, gt, threshold=0.05) == pytest.approx(100 * (d <= 0.05).mean())
    # AUC is the trapezoid-free mean of PCK over the 31 thresholds 0, 5, ..., 150 mm
    assert auc3d(pred, gt) == pytest.approx(np.mean([100 * (d <= t).mean() for t in np.linspace(0, 0.15, 31)]))
    assert pck3d(gt, gt) == 100.0 and auc3d(gt, gt) == 100.0       # d = 0 passes every threshold, even 0


def test_mpjve_is_velocity_error(deepmimic_clips):
    gt = root_relative(deepmimic_clips[0].in_camera().astype(np.float64))
    offset = np.linspace(0, 1, len(gt))[:, None, None] * np.array([0.3, 0.0, 0.0])   # constant drift
    assert mpjve(gt + offset, gt) == pytest.approx(0.3 / (len(gt) - 1))
    assert mpjve(gt + 0.2, gt) < 1e-12                # a constant offset has no velocity error
    with pytest.raises(StructposeError, match="T >= 2"):
        mpjve(gt[:1], gt[:1])


def test_structural_measures_on_real_mocap(deepmimic_clips, deepmimic_camera_poses):
    p = deepmimic_camera_poses.astype(np.float64)
    assert symmetry_error(p) < 1e-6                   # the humanoid is symmetric
    assert max(bone_length_std(c.in_camera().astype(np.float64)) for c in deepmimic_clips) < 1e-6
    q = p.copy()
    q[:, 3] = q[:, 2] + 1.1 * (q[:, 3] - q[:, 2])     # right shin 10 % longer
    shin = np.linalg.norm(p[:, 3] - p[:, 2], axis=-1)
    assert symmetry_error(q, reduction="none")[:, 3] == pytest.approx(0.1 * shin, abs=2e-6)   # float32 source
    assert symmetry_error(q) == pytest.approx(0.1 * shin.mean() / 4, abs=1e-6)
    # a bone that changes length over time has exactly that std
    r = p[:100].copy()
    k = 1.0 + 0.1 * np.sin(np.arange(100))
    r[:, 16] = r[:, 15] + k[:, None] * (r[:, 16] - r[:, 15])
    fore = np.linalg.norm(p[0, 16] - p[0, 15])
    assert bone_length_std(r, reduction="none")[-1] == pytest.approx(fore * k.std(), rel=1e-5)
    # illegal-angle ratio: low on real bodies, every clearly bent limb flagged after mirroring
    assert illegal_angle_ratio(p) < 5.0
    assert illegal_angle_ratio(p, margin=0.05) < illegal_angle_ratio(p)
    bad = mirror_limb(p, "l_knee")
    assert illegal_angle_ratio(bad, reduction="none")[:, 3].mean() > 90.0


def test_aggregation_conventions():
    values = np.array([1.0, 1.0, 1.0, 4.0])
    keys = ["walk", "walk", "walk", "run"]
    frames = aggregate_by(values, keys, "frames")
    assert frames == {"walk": 1.0, "run": 4.0, "average": 1.75}
    assert per_action(values, keys)["average"] == 2.5          # mean of action means
    with pytest.raises(StructposeError):
        aggregate_by(values, keys[:3])


def test_evaluate_sequences_excludes_invalid_frames(deepmimic_clips):
    gts = [c.in_camera().astype(np.float64) for c in deepmimic_clips[:3]]
    rng = np.random.default_rng(5)
    preds = [g + rng.normal(0, 0.03, g.shape) for g in gts]
    valid = [np.ones(len(g), bool) for g in gts]
    valid[1][5:9] = False
    preds[1][5:9] = np.nan
    r = evaluate_sequences(preds, gts, valid)
    keep = [p[v] for p, v in zip(preds, valid)], [g[v] for g, v in zip(gts, valid)]
    P, G = root_relative(np.concatenate(keep[0])), root_relative(np.concatenate(keep[1]))
    assert r["frames_excluded"] == 4 and r["frames"] == len(P)
    assert r["mpjpe"] == pytest.approx(np.sqrt(((P - G) ** 2).sum(-1)).mean())
    assert r["pa_mpjpe"] == pytest.approx(_loop_pa(P, G).mean(), abs=1e-6)
    assert r["symmetry_error_gt"] < 1e-6 and r["bone_length_std_gt"] < 1e-6
    # without a mask the NaN frames are found and excluded all the same
    assert evaluate_sequences(preds, gts)["mpjpe"] == pytest.approx(r["mpjpe"])
    with pytest.raises(StructposeError, match="marked valid"):
        evaluate_sequences(preds, gts, [np.ones(len(g), bool) for g in gts])
    with pytest.raises(StructposeError, match="frames"):
        evaluate_sequences(preds[0][:-1], gts[0])


def test_torch_and_numpy_agree(pair):
    pred, gt = pair
    tp, tg = torch.from_numpy(pred), torch.from_numpy(gt)
    for fn in (mpjpe, n_mpjpe, pck3d, auc3d):
        got = fn(tp, tg, reduction="none")
        assert isinstance(got, torch.Tensor)
        assert np.allclose(got.numpy(), fn(pred, gt, reduction="none"), atol=1e-9), fn.__name__
    assert np.allclose(mpjve(tp[:50], tg[:50], reduction="none").numpy(), mpjve(pred[:50], gt[:50], reduction="none"))
    for fn in (symmetry_error, bone_length_std, illegal_angle_ratio):
        assert np.allclose(fn(tp, reduction="none").numpy(), fn(pred, reduction="none"), atol=1e-9), fn.__name__
    # the autograd path (torch SVD) equals the no-grad fast path
    grad_p = tp[:30].clone().requires_grad_(True)
    with_grad = pa_mpjpe(grad_p, tg[:30], reduction="none")
    assert np.allclose(with_grad.detach().numpy(), pa_mpjpe(pred[:30], gt[:30], reduction="none"), atol=1e-9)
    with_grad.sum().backward()
    assert torch.isfinite(grad_p.grad).all()
