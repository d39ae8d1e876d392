"""Geometry: bones and similarity Procrustes against independent computations (scipy, closed forms)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from scipy.linalg import orthogonal_procrustes
from scipy.spatial.transform import Rotation

from structpose.errors import StructposeError
from structpose.geometry import LIMB_NAMES, bone_lengths, bone_vectors, mirror_limb, similarity_procrustes
from structpose.skeleton import H36M17


def _similar_copy(poses: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = poses.shape[0]
    R = Rotation.random(n, random_state=seed).as_matrix()
    s = rng.uniform(0.3, 3.0, n)
    t = rng.normal(0, 2.0, (n, 3))
    return s[:, None, None] * poses @ R.transpose(0, 2, 1) + t[:, None], R, s, t


def test_bone_vectors_and_lengths_match_a_loop(deepmimic_camera_poses):
    p = deepmimic_camera_poses[::50].astype(np.float64)
    want = np.stack([[np.linalg.norm(f[c] - f[par]) for par, c in H36M17.bones] for f in p])
    assert np.allclose(bone_lengths(p), want, atol=1e-12)
    assert np.allclose(bone_lengths(torch.from_numpy(p)).numpy(), want, atol=1e-12)
    assert bone_vectors(p).shape == (len(p), 16, 3)
    # bones of real mocap are rigid: the DeepMimic humanoid keeps every length over all frames
    assert bone_lengths(deepmimic_camera_poses).std(0).max() < 1e-5


def test_procrustes_recovers_a_known_similarity(deepmimic_camera_poses):
    gt = deepmimic_camera_poses[::20].astype(np.float64)
    moved, R, s, _t = _similar_copy(gt, 0)
    res = similarity_procrustes(moved, gt)
    assert np.abs(res.aligned - gt).max() < 1e-9
    # the inverse similarity: s_hat = 1/s, R_hat = R^T
    assert np.allclose(res.s, 1.0 / s, rtol=1e-9)
    assert np.allclose(res.R, R.transpose(0, 2, 1), atol=1e-9)
    assert np.allclose(np.linalg.det(res.R), 1.0)


@pytest.mark.parametrize("source", ["random", "real"])
def test_procrustes_agrees_with_scipy(source, deepmimic_camera_poses):
    rng = np.random.default_rng(1)
    if source == "random":
        gt = rng.normal(0, 0.3, (200, 17, 3))
    else:
        gt = deepmimic_camera_poses[::9].astype(np.float64)
    pred = _similar_copy(gt, 2)[0] + rng.normal(0, 0.05, gt.shape)
    res = similarity_procrustes(pred, gt)
    res_t = similarity_procrustes(torch.from_numpy(pred), torch.from_numpy(gt))
    for i in range(len(gt)):
        x = pred[i] - pred[i].mean(0)
        y = gt[i] - gt[i].mean(0)
        # rotation only, proper: scipy's Kabsch (align_vectors maps b onto a)
        rot, _ = Rotation.align_vectors(y, x)
        Rm = rot.as_matrix()
        s = np.sum(y * (x @ Rm.T)) / np.sum(x * x)                  # closed-form optimal scale given R
        want = s * x @ Rm.T + gt[i].mean(0)
        assert np.abs(res.aligned[i] - want).max() < 1e-6
        assert np.abs(res_t.aligned[i].numpy() - want).max() < 1e-6
        # and scipy's orthogonal_procrustes: same rotation whenever its optimum is proper
        Q, _ = orthogonal_procrustes(x, y)
        if np.linalg.det(Q) > 0:
            assert np.allclose(Q.T, res.R[i], atol=1e-6)


def test_procrustes_never_reflects():
    rng = np.random.default_rng(3)
    gt = rng.normal(0, 0.3, (50, 17, 3))
    mirrored = gt * np.array([-1.0, 1.0, 1.0])                   # a reflection no rotation can undo
    res = similarity_procrustes(mirrored, gt)
    assert np.allclose(np.linalg.det(res.R), 1.0)
    err_rot = np.linalg.norm(res.aligned - gt, axis=-1).mean()
    refl = similarity_procrustes(mirrored, gt, allow_reflection=True)
    assert np.allclose(np.linalg.det(refl.R), -1.0)
    assert np.abs(refl.aligned - gt).max() < 1e-9                 # with reflection the fit is exact ...
    assert err_rot > 0.05                                         # ... without it, it must not be


def test_procrustes_without_scale_keeps_size():
    rng = np.random.default_rng(4)
    gt = rng.normal(0, 0.3, (20, 17, 3))
    res = similarity_procrustes(3.0 * gt, gt, scale=False)
    assert np.allclose(res.s, 1.0)
    spread = lambda a: np.linalg.norm(a - a.mean(-2, keepdims=True), axis=-1).sum(-1)
    assert np.allclose(spread(res.aligned), spread(3.0 * gt))


def test_procrustes_degenerate_inputs_are_finite_and_warned():
    gt = np.random.default_rng(5).normal(0, 0.3, (3, 17, 3))
    zeros = np.zeros_like(gt)
    with pytest.warns(UserWarning, match="rank"):
        res = similarity_procrustes(zeros, gt)
    assert np.isfinite(res.aligned).all()
    assert np.allclose(res.aligned, gt.mean(-2, keepdims=True))   # collapsed pred -> gt centroid, s = 0
    x = torch.zeros(2, 17, 3, dtype=torch.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = similarity_procrustes(x, torch.from_numpy(gt[:2]))
    assert torch.isfinite(out.aligned).all()
    with pytest.raises(StructposeError, match="NaN"):
        similarity_procrustes(np.full_like(gt, np.nan), gt)
    with pytest.raises(StructposeError, match="shape"):
        similarity_procrustes(gt, gt[:, :16])


def test_mirror_limb_keeps_bone_lengths(deepmimic_camera_poses):
    p = deepmimic_camera_poses[::30].astype(np.float64)
    for limb in LIMB_NAMES:
        m = mirror_limb(p, limb)
        assert np.allclose(bone_lengths(m), bone_lengths(p), atol=1e-9)
        assert np.count_nonzero(np.abs(m - p).max(-1) > 1e-12, axis=-1).max() <= 1   # one joint moved


def _scipy_aligned(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    x, y = pred - pred.mean(0), gt - gt.mean(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                           # scipy warns on non-unique rotations
        rot, _ = Rotation.align_vectors(y, x)
    xr = x @ rot.as_matrix().T
    return (xr * y).sum() / (x * x).sum() * xr + gt.mean(0)


@pytest.mark.parametrize("case", ["planar", "collinear", "isotropic", "needs_reflection", "far_from_origin"])
def test_procrustes_hard_cases_match_scipy(case):
    """The fast Jacobi path and its LAPACK fallback on the inputs that break naive Kabsch code."""
    rng = np.random.default_rng(7)
    gt = rng.normal(0, 0.3, (40, 17, 3))
    if case == "planar":
        gt[..., 2] = 0.0                                           # rank-2 cross-covariance
    elif case == "collinear":
        gt = rng.normal(0, 0.3, (40, 17, 1)) * np.array([1.0, 2.0, -0.5])
    elif case == "isotropic":
        gt = np.tile(np.concatenate([np.eye(3), -np.eye(3)]), (40, 1, 1))  # equal singular values
        gt = np.concatenate([gt, np.zeros((40, 11, 3))], 1)
    elif case == "far_from_origin":
        gt = gt + np.array([3.0, -2.0, 50.0])                      # like camera-frame poses, far away
    R = Rotation.random(40, random_state=8).as_matrix()
    pred = 1.7 * gt @ R.transpose(0, 2, 1) + 0.3
    if case == "needs_reflection":
        pred = pred * np.array([1.0, -1.0, 1.0]) + rng.normal(0, 0.02, pred.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = similarity_procrustes(pred, gt)
    want = np.stack([_scipy_aligned(p, g) for p, g in zip(pred, gt)])
    err = lambda a: np.linalg.norm(a - gt, axis=-1).mean(-1)
    # the *error* is what PA-MPJPE uses; for rank-deficient input the rotation itself is not unique
    assert np.allclose(err(res.aligned), err(want), atol=1e-6)
    assert np.allclose(np.linalg.det(res.R), 1.0, atol=1e-9)
    if case in ("isotropic", "far_from_origin"):
        assert err(res.aligned).max() < 1e-9                       # an exact similarity is recovered
