"""`structpose refine`: real held-out motion in, refined pose file out; bad input -> one line, exit 2."""
from __future__ import annotations

import json

import numpy as np
import pytest

from structpose.cli import main
from structpose.data.error_model import ErrorModel
from structpose.io.posefile import PoseSequence, load_pose_file, save_pose_file
from structpose.skeleton import H36M17

CHI = [c for _, c in H36M17.bones]
PAR = [p for p, _ in H36M17.bones]


@pytest.fixture(scope="module")
def clip():
    from structpose.data.sources import load_clips
    from structpose.data.splits import split_clips
    # a held-out climbing sequence (TEST split), 5 s of it
    c = split_clips(load_clips("holosoma", fps=30.0))["test"][0]
    clean = c.in_camera()[:150].astype(np.float64)
    noisy = ErrorModel().apply(clean, 30.0, 7) + clean[:, :1]          # keep the root trajectory
    return clean, noisy.astype(np.float64)


def _mpjpe(a, b):
    return np.linalg.norm((a - a[:, :1]) - (b - b[:, :1]), axis=-1).mean()


def test_refine_improves_real_held_out_motion_and_keeps_the_file(tmp_path, clip, capsys):
    clean, noisy = clip
    src = save_pose_file(tmp_path / "in.npz", PoseSequence(noisy, fps=30.0, meta={"subject": "x"}))
    assert main(["refine", str(src), "--out", str(tmp_path / "out.npz")]) == 0
    out = load_pose_file(tmp_path / "out.npz")
    assert out.poses_3d.shape == noisy.shape and out.fps == 30.0 and out.meta["subject"] == "x"
    assert _mpjpe(out.poses_3d, clean) < 0.9 * _mpjpe(noisy, clean)
    np.testing.assert_allclose(out.poses_3d[:, 0], noisy[:, 0], atol=1e-5)     # root passes through


def test_fit_skeleton_and_bone_length_file(tmp_path, clip):
    _, noisy = clip
    src = save_pose_file(tmp_path / "in.npz", PoseSequence(noisy, fps=30.0))
    assert main(["refine", str(src), "--out", str(tmp_path / "a.npz"), "--mode", "bidirectional",
                 "--fit-skeleton"]) == 0
    p = load_pose_file(tmp_path / "a.npz").poses_3d
    lengths = np.linalg.norm(p[:, CHI] - p[:, PAR], axis=-1)
    assert lengths.std(0).max() < 1e-5
    want = {H36M17.names[c]: 0.1 + 0.01 * i for i, c in enumerate(CHI)}
    (tmp_path / "bones.json").write_text(json.dumps(want))
    assert main(["refine", str(src), "--out", str(tmp_path / "b.npz"), "--bone-lengths",
                 str(tmp_path / "bones.json")]) == 0
    p = load_pose_file(tmp_path / "b.npz").poses_3d
    np.testing.assert_allclose(np.linalg.norm(p[:, CHI] - p[:, PAR], axis=-1),
                               np.broadcast_to(list(want.values()), (len(p), 16)), atol=1e-5)


def test_any_frame_rate_one_frame_and_missing_frames(tmp_path, clip):
    clean, noisy = clip
    from structpose.data.resample import resample
    n60 = resample(noisy, 30.0, 60.0)
    src = save_pose_file(tmp_path / "s60.npz", PoseSequence(n60, fps=60.0))
    assert main(["refine", str(src), "--out", str(tmp_path / "o60.npz")]) == 0
    o60 = load_pose_file(tmp_path / "o60.npz")
    assert o60.fps == 60.0 and o60.num_frames == len(n60)
    assert _mpjpe(o60.poses_3d, resample(clean, 30.0, 60.0)) < _mpjpe(n60, resample(clean, 30.0, 60.0))
    one = save_pose_file(tmp_path / "one.npz", PoseSequence(noisy[:1], fps=30.0))
    assert main(["refine", str(one), "--out", str(tmp_path / "o1.npz")]) == 0
    assert np.isfinite(load_pose_file(tmp_path / "o1.npz").poses_3d).all()
    gappy = noisy.copy()
    gappy[5:8] = np.nan          # 0.1 s missed detection: bridged
    gappy[30:50] = np.nan        # 0.67 s: no pose is invented
    src = save_pose_file(tmp_path / "gap.npz", PoseSequence(gappy, fps=30.0))
    assert main(["refine", str(src), "--out", str(tmp_path / "og.npz"), "--mode", "bidirectional"]) == 0
    og = load_pose_file(tmp_path / "og.npz")
    assert og.valid[:30].all() and not og.valid[35:50].any() and og.valid[50:].all()


def _fails(capsys, argv, words):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and all(w in err for w in words), err


def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, clip, capsys):
    _, noisy = clip
    out = tmp_path / "out.npz"
    np.savez(tmp_path / "nofps.npz", poses_3d=noisy.astype(np.float32))
    _fails(capsys, ["refine", str(tmp_path / "nofps.npz"), "--out", str(out)], ["fps", "--fps"])
    assert main(["refine", str(tmp_path / "nofps.npz"), "--out", str(out), "--fps", "30"]) == 0
    out.unlink()
    np.savez(tmp_path / "coco.npz", poses_3d=noisy.astype(np.float32), fps=30.0, layout="coco17")
    _fails(capsys, ["refine", str(tmp_path / "coco.npz"), "--out", str(out)], ["layout", "h36m17"])
    mm = save_pose_file(tmp_path / "mm.npz", PoseSequence(noisy * 1000, fps=30.0))
    _fails(capsys, ["refine", str(mm), "--out", str(out)], ["metres"])
    src = save_pose_file(tmp_path / "ok.npz", PoseSequence(noisy, fps=30.0))
    (tmp_path / "bones.txt").write_text("0.1 0.2\n")
    _fails(capsys, ["refine", str(src), "--out", str(out), "--bone-lengths", str(tmp_path / "bones.txt")], ["16"])
    from structpose.models.tpnet import weights_path
    _fails(capsys, ["refine", str(src), "--out", str(out), "--mode", "bidirectional", "--model",
                    str(weights_path("online"))], ["mode"])
    empty = PoseSequence(np.full((10, 17, 3), np.nan), fps=30.0)
    save_pose_file(tmp_path / "empty.npz", empty)
    _fails(capsys, ["refine", str(tmp_path / "empty.npz"), "--out", str(out)], ["no frame"])
    assert not out.exists()


def test_a_file_without_fps_keeps_its_image_size_2d_and_meta(tmp_path, clip):
    """--fps supplies a missing frame rate; nothing else of the file is dropped on the way."""
    _, noisy = clip
    uv = noisy[..., :2] / noisy[..., 2:] * 800 + 500
    src = tmp_path / "nofps.npz"
    np.savez(src, poses_3d=noisy.astype(np.float32), poses_2d=uv.astype(np.float32),
             scores=np.full(noisy.shape[:2], 0.8, np.float32), image_size=np.array([1000, 900]),
             meta=np.array(json.dumps({"subject": "s1"})))
    out = tmp_path / "out.npz"
    assert main(["refine", str(src), "--out", str(out), "--fps", "30"]) == 0
    r = load_pose_file(out)
    assert r.image_size == (1000, 900) and r.meta["subject"] == "s1" and r.fps == 30.0
    np.testing.assert_allclose(r.poses_2d, uv, atol=1e-3)
    np.testing.assert_allclose(r.scores, 0.8)
