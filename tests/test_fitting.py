"""Skeleton fitting: imposed lengths, kept directions, median estimate, gradients."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from structpose.errors import StructposeError
from structpose.fitting import fit_skeleton, median_bone_lengths
from structpose.skeleton import H36M17

PAR = [p for p, _ in H36M17.bones]
CHI = [c for _, c in H36M17.bones]


def _bones(p):
    return p[..., CHI, :] - p[..., PAR, :]


def test_given_lengths_are_imposed_and_directions_kept(deepmimic_camera_poses):
    rng = np.random.default_rng(0)
    poses = deepmimic_camera_poses[::25] + rng.normal(0, 0.03, (len(deepmimic_camera_poses[::25]), 17, 3))
    L = rng.uniform(0.1, 0.5, len(H36M17.bones))
    out = fit_skeleton(poses, L)
    np.testing.assert_allclose(np.linalg.norm(_bones(out), axis=-1), np.broadcast_to(L, out.shape[:1] + L.shape),
                               atol=1e-5)
    bi, bo = _bones(poses), _bones(out)
    cos = (bi * bo).sum(-1) / np.linalg.norm(bi, axis=-1) / np.linalg.norm(bo, axis=-1)
    assert cos.min() > 1 - 1e-5
    np.testing.assert_allclose(out[:, 0], poses[:, 0], atol=1e-6)          # root untouched


def test_clean_mocap_is_a_fixed_point_and_median_is_the_default(deepmimic_clips):
    clip = deepmimic_clips[0].in_camera().astype(np.float64)     # DeepMimic bones are rigid
    np.testing.assert_allclose(fit_skeleton(clip), clip, atol=1e-6)
    rng = np.random.default_rng(1)
    scale = rng.uniform(0.9, 1.1, (clip.shape[0], 1, 1))
    wobbly = (clip - clip[:, :1]) * scale                         # whole-pose scale wobble
    out = fit_skeleton(wobbly)
    want = np.median(np.linalg.norm(_bones(wobbly), axis=-1), axis=0)
    np.testing.assert_allclose(np.linalg.norm(_bones(out), axis=-1), np.broadcast_to(want, (len(out), len(want))),
                               atol=1e-6)
    np.testing.assert_allclose(median_bone_lengths(wobbly), want)


def test_torch_matches_numpy_batched_and_is_differentiable():
    rng = np.random.default_rng(2)
    poses = rng.normal(0, 0.3, (2, 5, 17, 3))
    np_out = fit_skeleton(poses)                                  # median per sequence (axis -3)
    t = torch.tensor(poses, requires_grad=True)
    t_out = fit_skeleton(t)
    np.testing.assert_allclose(t_out.detach().numpy(), np_out, atol=1e-10)
    L = torch.rand(len(H36M17.bones), dtype=torch.float64) + 0.1
    assert torch.autograd.gradcheck(lambda p: fit_skeleton(p, L), (torch.tensor(poses[0, :2], requires_grad=True),))


def test_zero_length_bones_stay_finite_with_finite_gradients():
    p = torch.zeros(3, 17, 3, dtype=torch.float64, requires_grad=True)
    out = fit_skeleton(p, torch.full((16,), 0.3, dtype=torch.float64))
    out.sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(p.grad).all()


def test_bad_input_is_one_clear_error():
    with pytest.raises(StructposeError):
        fit_skeleton(np.zeros((4, 16, 3)))
    with pytest.raises(StructposeError):
        fit_skeleton(np.zeros((4, 17, 3)), np.ones(15))
    with pytest.raises(StructposeError):
        fit_skeleton(np.zeros((4, 17, 3)), -np.ones(16))
