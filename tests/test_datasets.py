"""Resampling and the torch datasets (pose windows for TP-Net, 2D-3D pairs for the lifter/SAP-Net)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from structpose.data.datasets import Pairs2D3DDataset, PoseWindowDataset, window_indices
from structpose.data.resample import resample, resample_clip
from structpose.errors import StructposeError
from structpose.skeleton import H36M17


@pytest.fixture(scope="module")
def small(deepmimic_clips):
    names = ("deepmimic/walk", "deepmimic/cartwheel", "deepmimic/run")
    return [c for c in deepmimic_clips if c.name in names]


# --- resample ------------------------------------------------------------------------------------

def test_resample_exact_on_linear_motion_and_frame_count():
    t = np.arange(31) / 30.0
    x = np.stack([2 * t, -t + 1, 0 * t], -1)[:, None, :]          # (T, 1, 3) constant velocity
    y = resample(x, 30.0, 120.0)
    assert y.shape[0] == 121
    tt = np.arange(121) / 120.0
    assert np.allclose(y[:, 0], np.stack([2 * tt, -tt + 1, 0 * tt], -1), atol=1e-6)
    assert resample(x, 30.0, 12.5).shape[0] == int(np.floor(30 * 12.5 / 30)) + 1


def test_resample_round_trip_on_smooth_real_motion(deepmimic_clips):
    """60 -> 240 -> 60 gives back the input exactly (its samples are kept); 60 -> 50 -> 60 of a
    smooth real clip stays within a few millimetres."""
    walk = next(c for c in deepmimic_clips if c.name == "deepmimic/dance_a")
    up = resample(walk.world, walk.fps, 4 * walk.fps)
    assert np.allclose(resample(up, 4 * walk.fps, walk.fps), walk.world, atol=1e-6)
    back = resample(resample(walk.world, 60.0, 50.0), 50.0, 60.0)
    n = back.shape[0]
    err = np.linalg.norm(back - walk.world[:n], axis=-1)
    assert np.median(err) < 0.005 and err.max() < 0.05


def test_resample_validates():
    with pytest.raises(StructposeError):
        resample(np.zeros((0, 17, 3)), 30, 60)
    with pytest.raises(StructposeError):
        resample(np.zeros((5, 17, 3)), 30, -1)
    with pytest.raises(StructposeError):
        resample(np.zeros((5, 17, 3)), float("nan"), 60)


# --- windows -------------------------------------------------------------------------------------

def test_window_indices_pad_by_repeating_the_edges():
    idx, k = window_indices(2, 50, 5, "online")
    assert idx.tolist() == [0, 0, 0, 1, 2] and k == 4
    idx, k = window_indices(48, 50, 6, "bidirectional")
    assert idx.tolist() == [45, 46, 47, 48, 49, 49] and k == 3
    with pytest.raises(StructposeError):
        window_indices(0, 5, 5, "sideways")


def test_window_is_a_rigid_root_relative_view_of_the_clip(small):
    ds = PoseWindowDataset(small, window=20, mode="online", seed=3)
    rng = np.random.default_rng(0)
    for i in rng.integers(0, len(ds), 25):
        item = ds[int(i)]
        win, ci, t = item["window"].numpy().astype(float), item["clip"], item["frame"]
        assert win.shape == (20, 17, 3) and np.allclose(win[:, 0], 0)
        assert torch.equal(item["target"], item["window"][item["target_index"]])
        idx, _ = window_indices(t, ds.clips[ci].num_frames, 20, "online")
        world = ds.clips[ci].world[idx] - ds.clips[ci].world[idx][:, :1]
        # one rotation maps every world frame onto the window (Procrustes, no scale)
        A, B = world.reshape(-1, 3), win.reshape(-1, 3)
        U, _, Vt = np.linalg.svd(A.T @ B)
        R = (U @ Vt).T
        assert np.linalg.det(R) > 0 and np.allclose(A @ R.T, B, atol=1e-5)


def test_windows_deterministic_and_epochs_change_the_view(small):
    a, b = PoseWindowDataset(small, seed=1), PoseWindowDataset(small, seed=1)
    assert torch.equal(a[10]["window"], b[10]["window"])
    b.set_epoch(1)
    assert not torch.allclose(a[10]["window"], b[10]["window"])
    # camera y points down: the head is above the pelvis for an upright walker
    walk = PoseWindowDataset([c for c in small if c.name == "deepmimic/walk"], seed=0, pitch_deg=10)
    heads = np.stack([walk[i]["target"][H36M17.index("head_top"), 1].item() for i in range(len(walk))])
    assert (heads < 0).all()


def test_target_fps_resamples(small):
    ds = PoseWindowDataset(small, target_fps=20.0, stride=1)
    expect = sum(resample_clip(c, 20.0).num_frames for c in small)
    assert len(ds) == expect and all(c.fps == 20.0 for c in ds.clips)


# --- pairs ---------------------------------------------------------------------------------------

def test_pairs_project_their_own_3d(small):
    ds = Pairs2D3DDataset(small, seed=5, frame_stride=3)
    for i in range(0, len(ds), 11):
        it = ds[i]
        P = (it["pose_3d"] + it["root_3d"]).numpy().astype(float)
        K = it["K"].numpy().astype(float)
        h = P @ K.T
        assert np.allclose(it["pose_2d"].numpy(), h[:, :2] / h[:, 2:], atol=1e-2)
        w, hgt = it["image_size"].tolist()
        uv = it["pose_2d"].numpy()
        assert (uv >= 0).all() and (uv[:, 0] <= w).all() and (uv[:, 1] <= hgt).all()
        assert np.allclose(it["pose_3d"][0].numpy(), 0)
        # the pose is the clip's frame, moved rigidly: bone lengths agree
        world = ds.clips[it["clip"]].world[it["frame"]]
        for p, c in H36M17.bones:
            assert np.isclose(np.linalg.norm(P[c] - P[p]), np.linalg.norm(world[c] - world[p]), atol=1e-5)


def test_pairs_deterministic_fixed_cameras_and_batching(small):
    a, b = Pairs2D3DDataset(small, seed=2), Pairs2D3DDataset(small, seed=2)
    assert torch.equal(a[7]["pose_2d"], b[7]["pose_2d"])
    b.set_epoch(3)
    assert not torch.equal(a[7]["pose_2d"], b[7]["pose_2d"])
    fixed = Pairs2D3DDataset(small, cameras_per_clip=2, seed=0)
    assert len(fixed) == 2 * sum(c.num_frames for c in small)
    before = fixed[5]["pose_2d"].clone()
    fixed.set_epoch(9)
    assert torch.equal(before, fixed[5]["pose_2d"])
    batch = next(iter(torch.utils.data.DataLoader(a, batch_size=8)))
    assert batch["pose_2d"].shape == (8, 17, 2) and batch["K"].shape == (8, 3, 3)


def test_dataset_arguments_validated(small):
    with pytest.raises(StructposeError):
        PoseWindowDataset([], window=20)
    with pytest.raises(StructposeError):
        PoseWindowDataset(small, mode="future")
    with pytest.raises(StructposeError):
        Pairs2D3DDataset(small, cameras_per_clip=0)
    with pytest.raises(StructposeError):
        Pairs2D3DDataset(small, seed=-1)


def test_hash_uniforms_batch_equals_scalar_and_is_uniform():
    from structpose.data.datasets import hash_uniforms, hash_uniforms_batch
    idx = np.array([0, 1, 7, 123456, 2**40])
    b = hash_uniforms_batch(11, 3, idx, 5)
    assert np.array_equal(b, np.stack([hash_uniforms(11, 3, int(i), 5) for i in idx]))
    u = hash_uniforms_batch(0, 0, np.arange(20000), 2)
    assert 0 <= u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.01
    assert abs(np.corrcoef(u[:, 0], u[:, 1])[0, 1]) < 0.03                 # draws independent


@pytest.mark.parametrize("kind", ["windows", "pairs", "fixed"])
def test_batches_equal_stacked_items(small, kind):
    ds = {"windows": lambda: PoseWindowDataset(small, mode="bidirectional", seed=4),
          "pairs": lambda: Pairs2D3DDataset(small, seed=3),
          "fixed": lambda: Pairs2D3DDataset(small, seed=3, cameras_per_clip=2)}[kind]()
    ds.set_epoch(2)
    idx = np.random.default_rng(0).integers(0, len(ds), 40)
    batch = ds[list(idx)]
    for j, i in enumerate(idx):
        for k, v in ds[int(i)].items():
            assert np.allclose(np.asarray(v), batch[k][j].numpy(), atol=1e-4), (kind, k)
    loader = torch.utils.data.DataLoader(ds, batch_size=16)
    first = next(iter(loader))
    ref = ds.batch(np.arange(16))
    assert all(torch.allclose(first[k].to(ref[k].dtype), ref[k]) for k in ref)
    with pytest.raises(IndexError):
        ds.batch([len(ds)])


def test_skeleton_resampling_keeps_bones_rigid(deepmimic_clips):
    """DeepMimic's 16 fps backflip turns limbs ~100 deg per frame: linear interpolation shrinks
    bones at the in-between frames, the bone-wise slerp keeps every length."""
    from structpose.data.resample import resample_skeleton
    flip = next(c for c in deepmimic_clips if c.name == "deepmimic/backflip")
    lin, rig = resample(flip.world, 16.0, 64.0), resample_skeleton(flip.world, 16.0, 64.0)
    assert lin.shape == rig.shape and np.allclose(rig[::4], flip.world, atol=1e-9)
    shrink = []
    for p, c in H36M17.bones:
        ref = np.linalg.norm(flip.world[0, c] - flip.world[0, p])
        assert np.allclose(np.linalg.norm(rig[:, c] - rig[:, p], axis=-1), ref, rtol=1e-9)
        shrink.append(1 - np.linalg.norm(lin[:, c] - lin[:, p], axis=-1).min() / ref)
    assert max(shrink) > 0.1


def test_skeleton_resampling_is_exact_for_steady_rotation():
    """A limb turning at constant angular speed about a fixed axis: slerp reproduces it exactly."""
    from structpose.data.resample import resample_skeleton
    t = np.arange(0, 1.0001, 1 / 10)
    fine = np.arange(0, 1.0001, 1 / 40)

    def pose(time: np.ndarray) -> np.ndarray:
        P = np.zeros((len(time), 17, 3))
        P[:, 0] = np.stack([time, 0 * time, 0 * time], -1)           # root walks along x
        for j in range(1, 17):
            p = H36M17.parents[j]
            a = 3.0 * time + j                                         # each bone spins about y
            P[:, j] = P[:, p] + 0.1 * j * np.stack([np.cos(a), 0 * a, np.sin(a)], -1)
        return P

    assert np.allclose(resample_skeleton(pose(t), 10.0, 40.0), pose(fine), atol=1e-9)
    with pytest.raises(StructposeError):
        resample_skeleton(np.zeros((5, 16, 3)), 10, 20)
