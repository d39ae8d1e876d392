"""World frame: a known floor recovered, Y up and right-handed, scale invariance, causal path, fallbacks."""
from __future__ import annotations

import numpy as np
import pytest

from structpose.cameras import look_at
from structpose.cli import main
from structpose.errors import StructposeError
from structpose.rootpath import solve_root
from structpose.world import ANKLE_FRAC, fit_floor, standing_height, to_world


def _walk(deepmimic_clips):
    """The DeepMimic walking clips one after another (each moved to start where the last ended): ~5 s."""
    parts, end = [], np.zeros(3)
    for c in deepmimic_clips:
        if c.name.startswith("deepmimic/walker_0walk_forward") or c.name.startswith("deepmimic/walk"):
            w = np.asarray(c.world, float).copy()
            w[..., [0, 2]] += (end - w[0, 0])[[0, 2]]
            parts.append(w)
            end = w[-1, 0]
    return np.concatenate(parts), 30.0


def _camera(world, eye_offset=(1.5, 2.2, 4.5), roll_deg=4.0):
    target = world[:, 0].mean(0)
    R, t = look_at(target + np.array(eye_offset), target)
    r = np.radians(roll_deg)
    Rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return Rz @ R, Rz @ t


def _seen(world, R, t, depth_noise=0.0, seed=0):
    cam = world @ R.T + t
    if depth_noise:                 # the chain's error: the whole body slides along its viewing ray
        k = np.exp(np.random.default_rng(seed).normal(scale=depth_noise, size=(len(cam), 1, 1)))
        cam = cam - cam[:, :1] + cam[:, :1] * k
    return cam


def test_a_known_floor_is_recovered(deepmimic_clips):
    """Real walking seen by a pitched, rolled camera: the fitted ankle plane's normal is the true up and
    its offset the camera's height above the ankles; with 3 % depth noise per frame (the chain's error on a
    held-out walk: 2.7 % std of predicted / true root depth) the ground plane is still within 3 deg / 5 %."""
    world, fps = _walk(deepmimic_clips)
    R, t = _camera(world)
    up = R @ np.array([0.0, 1.0, 0.0])
    eye = -R.T @ t
    fit = fit_floor(_seen(world, R, t), fps)
    assert fit.status == "ok"
    assert np.degrees(np.arccos(fit.normal @ up)) < 0.5
    ankle_plane = np.percentile(world[:, [3, 6], 1], 5)
    assert fit.d == pytest.approx(eye[1] - ankle_plane, rel=0.02)
    for seed in range(3):
        res = to_world(_seen(world, R, t, depth_noise=0.03, seed=seed), fps)
        assert res.status == "ok"
        assert np.degrees(np.arccos(res.floor[:3] @ up)) < 3.0
        assert res.floor[3] / res.scale == pytest.approx(eye[1], rel=0.05)      # the ground, camera units


def test_world_frame_is_y_up_right_handed_and_faces_plus_z(deepmimic_clips):
    world, fps = _walk(deepmimic_clips)
    R, t = _camera(world)
    res = to_world(_seen(world, R, t), fps, height=1.7)
    assert res.status == "ok"
    M = res.world_from_camera.astype(float)
    Rw = M[:3, :3]
    assert np.allclose(Rw @ Rw.T, np.eye(3), atol=1e-5) and np.linalg.det(Rw) == pytest.approx(1, abs=1e-5)
    up_cam = R @ np.array([0.0, 1.0, 0.0])
    assert np.degrees(np.arccos(np.clip((Rw @ up_cam)[1], -1, 1))) < 2.0          # world Y = true up
    p = res.poses_world.astype(float)
    right = p[0, 1] - p[0, 4]                                                      # r_hip - l_hip
    fwd = np.cross([0, 1, 0], right)
    fwd[1] = 0
    assert np.degrees(np.arccos(fwd[2] / np.linalg.norm(fwd))) < 1.0               # faces +Z at frame 0
    assert np.cross([1, 0, 0], [0, 1, 0]) @ [0, 0, 1] == 1                         # X x Y = Z
    # the floor is y = 0: planted ankles sit at the ankle height
    low = np.percentile(p[:, [3, 6], 1], 10)
    assert low == pytest.approx(ANKLE_FRAC * 1.7, abs=0.02)
    # the path is the true one turned and scaled: distances walked agree
    s = 1.7 / standing_height(world)
    true_len = np.linalg.norm(np.diff(world[:, 0, [0, 2]], axis=0), axis=-1).sum() * s
    got_len = np.linalg.norm(np.diff(p[:, 0, [0, 2]], axis=0), axis=-1).sum()
    assert got_len == pytest.approx(true_len, rel=0.05)


def test_scaling_the_camera_scene_changes_nothing_in_the_world(deepmimic_clips):
    """The focal length is unknown: a scene scaled about the camera gives the same pixels, so the same
    world poses; only the reported scale changes, by the inverse factor."""
    world, fps = _walk(deepmimic_clips)
    R, t = _camera(world)
    cam = _seen(world, R, t, depth_noise=0.03)
    a, b = to_world(cam, fps), to_world(1.37 * cam, fps)
    assert b.scale == pytest.approx(a.scale / 1.37, rel=1e-9)
    assert np.abs(a.poses_world - b.poses_world).max() < 1e-4


def test_online_path_is_causal(deepmimic_clips):
    world, fps = _walk(deepmimic_clips)
    R, t = _camera(world)
    cam = _seen(world, R, t, depth_noise=0.05)
    root, rel = cam[:, 0], cam - cam[:, :1]
    fit = fit_floor(cam, fps)
    contact = np.random.default_rng(3).uniform(size=(len(cam), 2))
    full = solve_root(root, rel, fps, contact, (fit.normal, fit.d), causal=True)
    for k in (3, 20, 61):
        part = solve_root(root[:k], rel[:k], fps, contact[:k], (fit.normal, fit.d), causal=True)
        assert np.array_equal(part, full[:k])
    # frame t online is the newest frame of the least-squares solution over frames 0..t, solved in full
    for k in (1, 2, 45):
        assert np.abs(solve_root(root[:k], rel[:k], fps, contact[:k], (fit.normal, fit.d))[-1]
                      - full[k - 1]).max() < 1e-7
    off = solve_root(root, rel, fps, contact, (fit.normal, fit.d))
    assert np.abs(solve_root(root[:61], rel[:61], fps, contact[:61], (fit.normal, fit.d))[:40] - off[:40]).max() > 1e-4


def test_still_feet_without_a_floor_hold_the_path(deepmimic_clips):
    """No floor (plane None): a foot marked still keeps its place in 3D in the causal solve, so a person
    standing in place under 8 % depth noise has an ankle that moves less than with smoothing alone; and
    that solve is causal."""
    world, fps = _walk(deepmimic_clips)
    stand = np.repeat(world[:1], 90, axis=0)
    R, t = _camera(stand)
    cam = _seen(stand, R, t, depth_noise=0.08, seed=7)
    root, rel = cam[:, 0], cam - cam[:, :1]
    still = np.ones((len(cam), 2))
    held = solve_root(root, rel, fps, still, None, causal=True)
    smooth = solve_root(root, rel, fps, causal=True)
    ank = rel[:, 3]
    step = lambda x: np.linalg.norm(np.diff(x + ank, axis=0), axis=-1).mean()
    assert step(held) < 0.5 * step(smooth)
    assert np.array_equal(solve_root(root[:30], rel[:30], fps, still[:30], None, causal=True), held[:30])


def test_smoothing_reduces_the_depth_noise(deepmimic_clips):
    world, fps = _walk(deepmimic_clips)
    R, t = _camera(world)
    clean, noisy = _seen(world, R, t), _seen(world, R, t, depth_noise=0.08, seed=5)
    err_in = np.linalg.norm(noisy[:, 0] - clean[:, 0], axis=-1).mean()
    for causal in (False, True):
        x = solve_root(noisy[:, 0], noisy - noisy[:, :1], fps, causal=causal)
        assert np.linalg.norm(x - clean[:, 0], axis=-1).mean() < 0.6 * err_in


def test_fallbacks_single_frame_no_contact_moving_camera(deepmimic_clips):
    world, fps = _walk(deepmimic_clips)
    R, t = _camera(world)
    cam = _seen(world, R, t)
    one = to_world(cam[:1], fps)
    assert one.status.startswith("fallback: a single frame") and one.floor is None and one.contacts is None
    assert np.isfinite(one.poses_world).all()
    # both feet always moving fast: nobody stands anywhere (a skater seen sliding 3 m/s sideways)
    slide = world.copy()
    slide += (np.arange(len(world)) * 3.0 / fps)[:, None, None] * np.array([1.0, 0, 0])
    res = to_world(_seen(slide, R, t), fps)
    assert res.status.startswith("fallback: no floor contact"), res.status
    # a camera rising 1 m over the clip (a crane shot) while the person walks there and back (the walk,
    # then the same frames backwards): the floor under the same spots moves
    there_back = np.concatenate([world, world[::-1]])
    T = len(there_back)
    moving = np.stack([there_back[i] @ R.T + t - R @ np.array([0, 1.0 * i / T, 0]) for i in range(T)])
    res = to_world(moving, fps)
    assert res.status.startswith("fallback: the camera moves"), res.status
    assert to_world(np.stack([p @ R.T + t for p in there_back]), fps).status == "ok"     # the same, static
    # the fallback frame is still Y up for a level camera and right-handed
    M = res.world_from_camera.astype(float)
    assert np.linalg.det(M[:3, :3]) == pytest.approx(1, abs=1e-6)


@pytest.mark.parametrize("h", ["0", "4", "nan"])
def test_bad_height_is_one_line(tmp_path, h, capsys):
    from structpose.io.posefile import PoseSequence, save_pose_file
    uv = np.random.default_rng(0).uniform(100, 500, size=(5, 17, 2)).astype(np.float32)
    src = save_pose_file(tmp_path / "in.npz", PoseSequence(poses_3d=np.full((5, 17, 3), np.nan), fps=30.0,
                                                           poses_2d=uv, scores=np.ones((5, 17)), image_size=(640, 480)))
    assert main(["lift", str(src), "--out", str(tmp_path / "o.npz"), "--height", h]) == 2
    err = capsys.readouterr().err.strip()
    assert "--height" in err and "standing height in metres" in err and "\n" not in err
    assert not (tmp_path / "o.npz").exists()


def test_to_world_refuses_bad_input():
    with pytest.raises(StructposeError, match="no valid pose"):
        to_world(np.full((4, 17, 3), np.nan), 30.0)
    with pytest.raises(StructposeError, match="height"):
        to_world(np.zeros((4, 17, 3)), 30.0, height=0.0)


def test_missing_frames_stay_missing_and_split_the_path(deepmimic_clips):
    world, fps = _walk(deepmimic_clips)
    R, t = _camera(world)
    cam = _seen(world, R, t, depth_noise=0.02)
    cam[:3] = np.nan                       # nobody yet
    cam[100:110] = np.nan                  # a gap
    for mode in ("bidirectional", "online"):
        res = to_world(cam, fps, mode=mode)
        assert res.status == "ok"
        bad = ~np.isfinite(cam).all((1, 2))
        assert np.isnan(res.poses_world[bad]).all() and np.isfinite(res.poses_world[~bad]).all()
        assert np.isnan(res.contacts[bad]).all()
        # the first valid frame is the origin, facing +Z
        assert np.abs(res.poses_world[3, 0, [0, 2]]).max() < 1e-5


def test_the_normal_is_uncertain_where_the_feet_do_not_span_the_floor(deepmimic_clips):
    """Walking over several metres pins the floor's tilt; standing in one spot (the first pose held, with
    small jitter) leaves it to the prior, and the reported standard deviation says so."""
    world, fps = _walk(deepmimic_clips)
    R, t = _camera(world)
    walk = fit_floor(_seen(world, R, t), fps)
    still = np.repeat(world[:1], 60, 0) + np.random.default_rng(4).normal(scale=0.003, size=(60, 17, 3))
    stand = fit_floor(_seen(still, R, t), fps)
    assert walk.status == "ok" and stand.status == "ok"
    # (the sd is what the chain's noise model expects, 8 % depth error, even on this clean input)
    assert walk.normal_sd_deg < 5.0
    assert stand.normal_sd_deg > 3 * walk.normal_sd_deg and stand.normal_sd_deg > 10.0
