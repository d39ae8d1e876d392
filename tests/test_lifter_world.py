"""The lifter fed MediaPipe's world landmarks: its input path, its NumPy twin, the on-axis turn of the world
landmarks, mirrored render samples, and the chunked render set's plan."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from structpose.cameras import look_at
from structpose.models.lifter import (
    Lifter,
    LifterConfig,
    load_lifter,
    normalise_2d,
    numpy_lifter,
    with_world_input,
)
from structpose.models.npz_infer import NpzLifter, export_npz
from structpose.pipeline.lifting import PoseLifter
from structpose.skeleton import H36M17

F = 900.0
C = np.array([640.0, 360.0])


@pytest.fixture(scope="module")
def real_views():
    """Held-out DeepMimic motion seen from the side and off the optical axis: (camera-frame poses, pixels)."""
    from structpose.data.sources import load_clips
    from structpose.data.splits import split_clips
    clip = split_clips(load_clips(("deepmimic",)))["test"][0]
    w = np.asarray(clip.world[::7][:40], float)
    target = w[:, 0].mean(0)
    R, t = look_at(target + np.array([4.0, 0.5, 2.0]), target + np.array([1.2, -0.4, 0.0]))   # person off-axis
    cam = w @ R.T + t
    return cam, cam[..., :2] / cam[..., 2:] * F + C


def test_world_lifter_started_from_a_2d_lifter_computes_the_same_whatever_the_world_input(real_views):
    cam, uv = real_views
    base = load_lifter()
    wl = with_world_input(base).eval()
    xy, m, _, _ = normalise_2d(torch.as_tensor(uv, dtype=torch.float32), torch.ones(uv.shape[:2]))
    world = torch.as_tensor(cam - cam[:, :1], dtype=torch.float32)
    with torch.no_grad():
        p0, s0 = base(xy, m)
        p1, s1 = wl(xy, m, world)
        p2, s2 = wl(xy, m, None)
    assert torch.allclose(p0, p1, atol=1e-5) and torch.allclose(s0, s1, atol=1e-5)
    assert torch.allclose(p0, p2, atol=1e-5) and torch.allclose(s0, s2, atol=1e-5)
    assert wl.inp[0].weight.shape[1] == base.inp[0].weight.shape[1] + 17 * 3 + 1


def test_numpy_world_lifter_equals_torch_with_and_without_world(real_views, tmp_path):
    """Random (not zero) world weights, so the world inputs matter; NumPy from a state dict and from the
    exported .npz both agree with torch, with landmarks, without, and with some frames lacking them."""
    from structpose.models.lifter import save_lifter
    cam, uv = real_views
    torch.manual_seed(3)
    model = Lifter(LifterConfig(hidden=64, blocks=2, world=True)).eval()
    mask = np.ones(uv.shape[:2], np.float32)
    mask[::4, 3] = 0
    world = (cam - cam[:, :1]).astype(np.float32)
    world[::5] = np.nan                                # frames where the detector gave no world landmarks
    with torch.no_grad():
        xn, m2, _, _ = normalise_2d(torch.as_tensor(uv, dtype=torch.float32), torch.as_tensor(mask))
        pt_w, st_w = model(xn, m2, torch.as_tensor(world))
        pt_0, st_0 = model(xn, m2, None)
    assert (pt_w - pt_0).abs().max() > 1e-3               # the world inputs change the output
    path = save_lifter(tmp_path / "w.pt", model, half=False)
    for net in (numpy_lifter(model), NpzLifter.from_file(export_npz(path))):
        pn_w, sn_w, *_ = net(uv.astype(np.float32), mask, world)
        pn_0, sn_0, *_ = net(uv.astype(np.float32), mask, None)
        assert np.abs(pn_w - pt_w.numpy()).max() < 1e-4 and np.abs(sn_w - st_w.numpy()).max() < 1e-4
        assert np.abs(pn_0 - pt_0.numpy()).max() < 1e-4 and np.abs(sn_0 - st_0.numpy()).max() < 1e-4
    # the file round trip keeps the world flag
    assert load_lifter(path).config.world


def test_world_landmarks_are_turned_with_the_keypoints_onto_the_optical_axis(real_views):
    """What the network receives: on-axis keypoints and on-axis world landmarks of the same body must obey
    the pinhole projection with the pelvis on the optical axis (x = f X / Z with the root at (0, 0, |root|))."""
    cam, uv = real_views
    torch.manual_seed(0)
    pl = PoseLifter(Lifter(LifterConfig(hidden=32, blocks=1, world=True)), focal_px=F)
    seen = {}
    real = pl._small

    def spy(xy, mask, w):
        seen.update(xy=np.array(xy), w=np.array(w))
        return real(xy, mask, w)

    pl._small = spy
    k = 3
    world_in = cam[k:k + 1] - cam[k:k + 1, :1] + np.array([0.3, -0.2, 0.1])    # any world origin: re-rooted
    pl(uv[k:k + 1], np.ones((1, 17)), (1280, 720), world_in)
    w, xy = seen["w"][0], seen["xy"][0]
    assert np.allclose(w[0], 0, atol=1e-9)                              # root-relative at the pelvis
    lh, rh = H36M17.index("l_hip"), H36M17.index("r_hip")
    assert np.abs(0.5 * (xy[lh] + xy[rh]) - C).max() < 1.0             # the hips' midpoint ray is the axis
    ray = np.array([*(xy[0] - C) / F, 1.0])
    pts = w + ray / np.linalg.norm(ray) * np.linalg.norm(cam[k, 0])    # the pelvis where its on-axis pixel says
    proj = pts[:, :2] / pts[:, 2:] * F + C
    assert np.abs(proj - xy).max() < 1e-2                                # same turn for both
    # turning is a rotation: limb lengths are kept
    assert np.allclose(np.linalg.norm(w, axis=-1), np.linalg.norm(cam[k] - cam[k, 0], axis=-1), atol=1e-9)
    # a 2D-only lifter never reads them
    assert not PoseLifter(load_lifter()).uses_world


def test_mirrored_render_samples_mirror_the_world_landmarks_too(real_views):
    from structpose.train.lifter_renders import render_samples
    cam, uv = real_views
    n = len(cam)
    rng = np.random.default_rng(0)
    det_world = (cam - cam[:, :1] + rng.normal(0, 0.03, cam.shape)).astype(np.float32)
    pairs = {"det_found": np.ones(n, bool), "clip": np.array(["deepmimic/run"] * n), "det_2d": uv.astype(np.float32),
             "det_scores": np.ones((n, 17), np.float32), "focal": np.full((n, 2), F, np.float32),
             "centre": np.tile(C, (n, 1)).astype(np.float32), "joints_cam": cam.astype(np.float32),
             "det_world": det_world}
    s = render_samples(pairs)
    assert len(s["xy"]) == 2 * n
    err = (s["world"] - s["rel"]).norm(dim=-1)                # MediaPipe's error per joint...
    flip = list(H36M17.flip_permutation)
    assert torch.allclose(err[n:], err[:n][:, flip], atol=1e-5)  # ...moves with the joint it belongs to
    assert torch.allclose(s["world"][n:, :, 0], -s["world"][:n][:, flip, 0], atol=1e-6)
    # the true 3D and the world landmarks are turned by the same rotation (their error stays what it was)
    assert np.allclose(err[:n].numpy(), np.linalg.norm(det_world - det_world[:, :1] - (cam - cam[:, :1]), axis=-1),
                       atol=1e-4)


def test_chunk_plan_interleaves_splits_and_balances_families():
    from structpose.train.render_chunks import FAMILY_SOURCES, chunk_plan
    plan = chunk_plan(70)
    assert [p[0] for p in plan[:10]].count("train") == 8 and {p[0] for p in plan[:10]} == {"train", "val", "test"}
    train_fams = [f for s, f, _ in plan if s == "train"]
    counts = {f: train_fams.count(f) for f in FAMILY_SOURCES}
    assert counts["deepmimic"] == counts["bandai"] == counts["cmu"] == 2 * counts["holosoma"]
    names = [f"{s}_{f}_{i:03d}" for s, f, i in plan]
    assert len(set(names)) == len(names)                          # no chunk overwrites another


@pytest.mark.parametrize("argv, needle", [
    (["data", "renders", "--chunks", "X", "--out", "a.npz"], "--chunks writes its own files"),
    (["data", "renders", "--chunks", "X", "--video-length", "1"], "--video-length >= 2"),
    (["train", "lifter-world", "--config", "MISSING.yaml"], "not a readable YAML config"),
])
def test_cli_bad_input_is_one_line(argv, needle, tmp_path):
    r = subprocess.run([sys.executable, "-m", "structpose", *argv], capture_output=True, text=True, cwd=tmp_path,
                       check=False)
    assert r.returncode == 2 and needle in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_video_with_the_world_lifter_feeds_it_the_tracked_world_landmarks(tmp_path):
    """`structpose video --lifter world --mode none --no-fit` on real photos: its poses are the world lifter
    applied to MediaPipe's tracked 2D *and* world landmarks of the same frames (recomputed here with the
    detector), not the same lifter on 2D alone; the pose file names the lifter; the default stays 2D-only."""
    import cv2

    from benchmarks._helpers import write_still_video
    from structpose.cli import main
    from structpose.io.posefile import load_pose_file
    from structpose.pipeline.detector import PoseDetector
    from structpose.pipeline.lifting import detector_world
    data = "/usr/share/doc/opencv-doc/examples/data"
    video = write_still_video(tmp_path / "v.mp4", [f"{data}/basketball1.png", f"{data}/messi5.jpg"], 4)
    out = tmp_path / "w.npz"
    assert main(["video", str(video), "--out", str(out), "--mode", "none", "--no-fit", "--no-progress",
                 "--lifter", "world", "--no-world"]) == 0
    seq = load_pose_file(out)
    assert seq.meta["lifter"] == "world" and seq.meta["lifter_world_input"] is True
    cap = cv2.VideoCapture(str(video))
    world = []
    with PoseDetector(video=True) as det:
        while True:
            ok, img = cap.read()
            if not ok:
                break
            world.append(detector_world(det(img)))
    cap.release()
    pl = PoseLifter("world")
    with_w, _ = pl(seq.poses_2d, seq.scores, seq.image_size, np.stack(world))
    without, _ = pl(seq.poses_2d, seq.scores, seq.image_size, None)
    ok = seq.valid
    assert ok.sum() >= 4
    assert np.abs(seq.poses_3d[ok] - with_w[ok]).max() < 1e-4
    assert np.abs(seq.poses_3d[ok] - without[ok]).max() > 1e-3
    # the streaming (one frame at a time) call gives the same, with and without landmarks
    k = int(np.flatnonzero(ok)[0])
    one_w, _ = pl(seq.poses_2d[k], seq.scores[k], seq.image_size, world[k])
    one_0, _ = pl(seq.poses_2d[k], seq.scores[k], seq.image_size, None)
    assert np.abs(one_w - with_w[k]).max() < 1e-4 and np.abs(one_0 - without[k]).max() < 1e-4
    default = tmp_path / "d.npz"
    assert main(["video", str(video), "--out", str(default), "--mode", "none", "--no-fit", "--no-progress",
                 "--no-world"]) == 0
    assert load_pose_file(default).meta["lifter_world_input"] is False
