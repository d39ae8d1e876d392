"""Structure-aware losses on real mocap (DeepMimic), plus their algebra and degenerate-pose behaviour."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from structpose.data import deepmimic, holosoma
from structpose.errors import StructposeError
from structpose.geometry import LIMB_NAMES, bone_lengths, limb_legality, mirror_limb
from structpose.losses import (
    CANONICAL_BONE_LENGTHS,
    bone_ratio_loss,
    canonical_bone_lengths,
    depth_l2_loss,
    heatmap_mse_loss,
    illegal_angle_loss,
    structure_aware_loss,
    symmetry_loss,
)
from structpose.skeleton import H36M17

LIMB_END = {"r_elbow": "r_wrist", "l_elbow": "l_wrist", "r_knee": "r_ankle", "l_knee": "l_ankle"}


@pytest.fixture(scope="module")
def real(deepmimic_camera_poses) -> torch.Tensor:
    return torch.from_numpy(deepmimic_camera_poses.astype(np.float64))


def test_illegal_angle_is_negligible_on_real_motion(real):
    la = illegal_angle_loss(real, reduction="none").numpy()
    assert np.median(la) == 0.0
    assert (la <= 0.05).mean() > 0.90          # real bodies: the paper's sign rules hold almost always
    # the elbow and knee sign rules, each on its own, hold on >= 94 % of frames
    assert ((limb_legality(real) >= 0).double().mean(0) > 0.94).all()


@pytest.mark.parametrize("limb", LIMB_NAMES)
def test_bending_a_limb_backwards_is_penalised(real, limb):
    k = LIMB_NAMES.index(limb)
    g = limb_legality(real)[:, k]
    bent = g > 0.1                                     # clearly bent, legal frames
    mirrored = torch.from_numpy(mirror_limb(real.numpy(), limb))
    # mirroring through the reference plane negates the signed legality exactly
    assert torch.allclose(limb_legality(mirrored)[:, k], -g, atol=1e-9)
    la_real = illegal_angle_loss(real, reduction="none")
    la_bad = illegal_angle_loss(mirrored, reduction="none")
    assert bent.double().mean() > 0.8
    # -E e^-E with E <= -0.1 gives at least 0.1 e^0.1 more than the frame had before
    assert (la_bad[bent] - la_real[bent] >= 0.1 * math.exp(0.1) - 1e-9).all()
    assert la_bad[bent].mean() > 10 * la_real[bent].mean()


@pytest.mark.parametrize("limb", LIMB_NAMES)
def test_gradient_descent_on_la_moves_the_joint_back(real, limb):
    k = LIMB_NAMES.index(limb)
    end = H36M17.index(LIMB_END[limb])
    g = limb_legality(real)[:, k]
    frames = torch.nonzero(g > 0.3).flatten()[::40]
    bad = torch.from_numpy(mirror_limb(real[frames].numpy(), limb))
    x = bad.clone().requires_grad_(True)
    opt = torch.optim.SGD([x], lr=0.05)
    for _ in range(60):
        opt.zero_grad()
        illegal_angle_loss(x, reduction="sum").backward()
        x.grad[:, [j for j in range(17) if j != end]] = 0.0       # only the wrist / ankle moves
        opt.step()
    before = limb_legality(bad)[:, k]
    after = limb_legality(x.detach())[:, k]
    assert (after > before + 0.2).all()
    assert (after > -0.05).float().mean() > 0.9        # back to (nearly) legal
    assert (illegal_angle_loss(x.detach(), reduction="none") < illegal_angle_loss(bad, reduction="none")).all()


def test_illegal_angle_is_scale_and_rotation_free(real):
    from scipy.spatial.transform import Rotation
    p = real[::25]
    R = torch.from_numpy(Rotation.random(len(p), random_state=0).as_matrix())
    moved = 37.0 * p @ R.transpose(1, 2) + 5.0
    for reference in ("collar", "torso"):
        assert torch.allclose(illegal_angle_loss(moved, reference=reference, reduction="none"),
                              illegal_angle_loss(p, reference=reference, reduction="none"), atol=1e-9)


def test_margin_only_forgives(real):
    la0 = illegal_angle_loss(real, reduction="none")
    la5 = illegal_angle_loss(real, margin=0.05, reduction="none")
    assert (la5 <= la0 + 1e-12).all()
    with pytest.raises(StructposeError, match="margin"):
        illegal_angle_loss(real, margin=-1.0)


def test_symmetry_is_zero_on_real_and_grows_with_one_longer_limb(real):
    assert symmetry_loss(real, reduction="none").max() < 1e-10
    p = real[::10].numpy().copy()
    r_fore, l_fore = H36M17.bones.index((15, 16)), H36M17.bones.index((12, 13))
    values = []
    for k in (0.05, 0.1, 0.2, 0.4):
        q = p.copy()
        q[:, 16] = q[:, 15] + (1.0 + k) * (q[:, 16] - q[:, 15])      # lengthen the right forearm
        ls = symmetry_loss(torch.from_numpy(q), reduction="none").numpy()
        lengths = bone_lengths(q)                                     # independent: numpy lengths
        assert np.allclose(ls, (lengths[:, r_fore] - lengths[:, l_fore]) ** 2, rtol=1e-9)
        assert np.allclose(ls, (k * lengths[:, l_fore]) ** 2, rtol=1e-4)   # ~ (extra length)^2
        values.append(ls.mean())
    assert np.all(np.diff(values) > 0)


@pytest.fixture(scope="module")
def climbing() -> np.ndarray:
    """All holosoma climbing frames (a second real performer), world frame, float64."""
    return np.concatenate([c.world for c in holosoma.load_all()]).astype(np.float64)


def test_canonical_lengths_come_from_the_real_training_mocap(deepmimic_clips, climbing):
    sets = [np.concatenate([c.world for c in deepmimic_clips]), climbing]
    assert np.allclose(canonical_bone_lengths(sets), CANONICAL_BONE_LENGTHS, atol=6e-5)


def test_second_real_performer_is_symmetric_and_mostly_legal(climbing):
    p = torch.from_numpy(climbing)
    assert symmetry_loss(p, reduction="none").max() < 1e-6          # m^2: left/right twins within 1 mm
    assert (illegal_angle_loss(p, reduction="none") <= 0.05).double().mean() > 0.99
    assert bone_ratio_loss(p, reduction="none").max() < 0.01        # canonical proportions fit a real body


def test_bone_ratio_loss_is_zero_for_canonical_proportions(real):
    p = real[::50]
    lg = bone_ratio_loss(p, canonical_lengths=bone_lengths(p[0]), reduction="none")
    assert lg.max() < 1e-10                            # the humanoid itself as the canonical skeleton
    q = p.clone()
    q[:, 3] = q[:, 2] + 1.5 * (q[:, 3] - q[:, 2])      # one shin 50 % too long breaks the leg group
    assert (bone_ratio_loss(q, canonical_lengths=bone_lengths(p[0]), reduction="none") > 0.01).all()


def test_reductions_and_leading_dims(real):
    p = real[:24].reshape(2, 3, 4, 17, 3)
    for fn in (illegal_angle_loss, symmetry_loss, bone_ratio_loss, structure_aware_loss):
        none = fn(p, reduction="none")
        assert none.shape == (2, 3, 4)
        assert torch.allclose(fn(p, reduction="sum"), none.sum())
        assert torch.allclose(fn(p, reduction="mean"), none.mean())
        assert torch.allclose(fn(p.reshape(24, 17, 3), reduction="none"), none.reshape(24))
    with pytest.raises(StructposeError, match="reduction"):
        symmetry_loss(p, reduction="avg")
    with pytest.raises(StructposeError, match="shape"):
        symmetry_loss(p[..., :16, :])


def test_structure_aware_loss_on_gt_xy_with_predicted_depth(real):
    gt = real[::60]
    pred = gt + 0.1 * torch.randn_like(gt)
    pred.requires_grad_(True)
    loss = structure_aware_loss(pred, gt_xy=gt[..., :2], reduction="none")
    combined = torch.cat([gt[..., :2], pred[..., 2:]], -1)
    want = (0.03 * illegal_angle_loss(combined, reduction="none") + 0.05 * symmetry_loss(combined, reduction="none")
            + 0.03 * bone_ratio_loss(combined, reduction="none"))
    assert torch.allclose(loss, want)
    loss.sum().backward()
    assert (pred.grad[..., :2] == 0).all() and pred.grad[..., 2].abs().sum() > 0
    depth_only = structure_aware_loss(pred[..., 2:], gt_xy=gt[..., :2], reduction="none")
    assert torch.allclose(depth_only, loss)


def _degenerate_poses() -> list[torch.Tensor]:
    zeros = torch.zeros(2, 17, 3, dtype=torch.float64)
    same = torch.ones(2, 17, 3, dtype=torch.float64) * torch.tensor([0.3, -1.0, 4.0], dtype=torch.float64)
    one_bone = torch.randn(2, 17, 3, dtype=torch.float64)
    one_bone[:, 16] = one_bone[:, 15]                  # zero-length forearm
    return [zeros, same, one_bone]


@pytest.mark.parametrize("case", range(3))
def test_degenerate_poses_give_finite_values_and_gradients(case):
    x = _degenerate_poses()[case].requires_grad_(True)
    for fn in (illegal_angle_loss, symmetry_loss, bone_ratio_loss, structure_aware_loss):
        x.grad = None
        value = fn(x)
        value.backward()
        assert torch.isfinite(value) and torch.isfinite(x.grad).all(), fn.__name__
    z = x[..., 2:].detach().clone().requires_grad_(True)
    structure_aware_loss(z, gt_xy=x[..., :2].detach()).backward()
    assert torch.isfinite(z.grad).all()


def test_heatmap_and_depth_losses_match_torch():
    pred, target = torch.rand(2, 3, 17, 8, 8), torch.rand(3, 17, 8, 8)      # 2 stacks, batch 3
    assert torch.allclose(heatmap_mse_loss(pred, target), torch.nn.functional.mse_loss(pred, target.expand_as(pred)))
    w = torch.zeros(3, 17)
    w[:, 0] = 1.0
    want = ((pred[..., 0, :, :] - target[:, 0]) ** 2).mean((-1, -2)) / 17
    assert torch.allclose(heatmap_mse_loss(pred, target, w, reduction="none"), want)
    z, zg = torch.randn(4, 17), torch.randn(4, 17)
    assert torch.allclose(depth_l2_loss(z, zg), torch.nn.functional.mse_loss(z, zg))
    zg[:, 5] = float("nan")                             # unknown depth, masked out
    mask = torch.ones(4, 17)
    mask[:, 5] = 0
    keep = [j for j in range(17) if j != 5]
    assert torch.allclose(depth_l2_loss(z, zg, mask), torch.nn.functional.mse_loss(z[:, keep], zg[:, keep]))
    with pytest.raises(StructposeError):
        heatmap_mse_loss(pred, torch.rand(3, 16, 8, 8))


# --- against DeepMimic's own hinge angles: the ground truth of "bent the wrong way" ----------------

@pytest.fixture(scope="module")
def hinge_truth():
    """Real DeepMimic frames and the same frames with every elbow / knee hinge angle negated.

    The humanoid's elbows and knees are 1-DOF hinges, so negating the angle bends the limb backwards
    (an anatomically illegal pose) while everything else stays real.  Hinge columns: 20 r_knee,
    29 r_elbow, 34 l_knee, 43 l_elbow (knees legal at <= 0, elbows at >= 0).
    """
    import json
    frames = np.concatenate([np.asarray(json.loads(p.read_text())["Frames"], float) for p in deepmimic.clip_paths()])
    negated = frames.copy()
    negated[:, [20, 29, 34, 43]] *= -1.0
    hinge = frames[:, [29, 43, 20, 34]] * np.array([1.0, 1.0, -1.0, -1.0])   # >= 0 legal, LIMB_NAMES order
    return deepmimic.forward_kinematics(frames), deepmimic.forward_kinematics(negated), hinge


@pytest.mark.parametrize("reference", ["collar", "torso"])
def test_eq1_against_hinge_ground_truth(hinge_truth, reference):
    real, backwards, hinge = hinge_truth
    g_real = limb_legality(real, reference=reference)
    g_back = limb_legality(backwards, reference=reference)
    # knees: Eq. 1 with the pelvis->hip chain flags exactly the frames whose knee is hyperextended
    assert ((g_real[:, 2:] < 0) == (hinge[:, 2:] < 0)).all()
    bent = np.abs(hinge) > np.radians(10)
    detected = np.array([(g_back[bent[:, k], k] < 0).mean() for k in range(4)])
    assert (detected > 0.94).all(), detected
    assert ((g_real[:, :2] < 0).mean(0) < 0.06).all()          # DeepMimic elbows never hyperextend


def test_torso_reference_beats_the_collar_on_real_elbows(hinge_truth):
    real, backwards, hinge = hinge_truth
    bent = np.abs(hinge[:, :2]) > np.radians(10)
    false_alarm = {r: (limb_legality(real, reference=r)[:, :2] < 0).mean(0) for r in ("collar", "torso")}
    detected = {r: np.array([(limb_legality(backwards, reference=r)[bent[:, k], k] < 0).mean() for k in range(2)])
                for r in ("collar", "torso")}
    assert (false_alarm["torso"] < 0.75 * false_alarm["collar"]).all()
    assert (detected["torso"] >= detected["collar"]).all()


def test_torso_reference_torch_matches_numpy_and_is_finite(real):
    p = real[::40]
    t = limb_legality(p, reference="torso")
    assert np.allclose(t.numpy(), limb_legality(p.numpy(), reference="torso"), atol=1e-12)
    for x in _degenerate_poses():
        x = x.clone().requires_grad_(True)
        illegal_angle_loss(x, reference="torso").backward()
        assert torch.isfinite(x.grad).all()
    with pytest.raises(StructposeError, match="reference"):
        limb_legality(p, reference="spine")


def test_losses_finite_on_arbitrary_poses():
    """Property: any pose -- any scale, joints snapped together at random -- gives finite values and gradients."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=40, deadline=None, derandomize=True)
    @given(seed=st.integers(0, 2**31 - 1), log_scale=st.floats(-6, 3), n_snap=st.integers(0, 16),
           reference=st.sampled_from(["collar", "torso"]), margin=st.sampled_from([0.0, 0.05]))
    def check(seed, log_scale, n_snap, reference, margin):
        rng = np.random.default_rng(seed)
        p = rng.normal(0, 1, (3, 17, 3)) * 10.0 ** log_scale
        for j in rng.choice(17, n_snap, replace=False):
            p[:, j] = p[:, rng.integers(17)]                       # coincident joints, zero-length bones
        x = torch.from_numpy(p).requires_grad_(True)
        total = (illegal_angle_loss(x, margin=margin, reference=reference) + symmetry_loss(x)
                 + bone_ratio_loss(x) + structure_aware_loss(x, angle_reference=reference))
        total.backward()
        assert torch.isfinite(total) and torch.isfinite(x.grad).all()

    check()
