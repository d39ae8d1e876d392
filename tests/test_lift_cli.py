"""`structpose lift` on keypoint files made from held-out real motion; wrong layouts, NaN, missing files."""
from __future__ import annotations

import numpy as np
import pytest

from structpose.cameras import look_at
from structpose.cli import main
from structpose.geometry import similarity_procrustes
from structpose.io.posefile import PoseSequence, load_pose_file, save_pose_file
from structpose.skeleton import COCO17, convert

F, W, H = 900.0, 1280, 720


@pytest.fixture(scope="module")
def heldout():
    """A held-out DeepMimic clip (data.splits test set) seen from the front-right: (camera poses, pixels)."""
    from structpose.data.sources import load_clips
    from structpose.data.splits import split_clips
    clip = next(c for c in split_clips(load_clips(("deepmimic",)))["test"] if c.name == "deepmimic/punch")
    w = np.asarray(clip.world, float)
    target = w[:, 0].mean(0)
    R, t = look_at(target + np.array([-2.5, 0.2, 4.0]), target)
    cam = w @ R.T + t
    uv = cam[..., :2] / cam[..., 2:] * F + np.array([W / 2, H / 2])
    return cam.astype(np.float32), uv.astype(np.float32), clip.fps


def _vp3d_coco(path, uv, nan=False, layout="coco"):
    coco = convert(uv, "h36m17", "coco17")                         # eyes / ears: NaN (no H36M source)
    sc = np.isfinite(coco).all(-1).astype(np.float32)
    coco = np.where(np.isfinite(coco), coco, coco[:, :1])          # VP3D files hold no NaN: score 0 instead
    if nan:
        coco[3, 5, 0] = np.nan
    arr = np.concatenate([coco, sc[..., None]], -1)
    np.savez(path, positions_2d=np.array({"clip": {"custom": [arr]}}, dtype=object),
             metadata=np.array({"layout_name": layout, "num_joints": 17,
                                "keypoints_symmetry": [[1, 3, 5, 7, 9, 11, 13, 15], [2, 4, 6, 8, 10, 12, 14, 16]],
                                "video_metadata": {"clip": {"w": W, "h": H}}}, dtype=object))
    return path


def _pa(p, t):
    return float(np.linalg.norm(similarity_procrustes(p, t, warn=False).aligned - t, axis=-1).mean())


@pytest.mark.parametrize("mode", ["none", "online"])
def test_lift_videopose3d_coco_file_recovers_real_motion(tmp_path, heldout, mode):
    cam, uv, fps = heldout
    src = _vp3d_coco(tmp_path / "kp.npz", uv)
    out = tmp_path / "lifted.npz"
    assert main(["lift", str(src), "--out", str(out), "--fps", str(fps), "--mode", mode,
                 "--export", "bvh"]) == 0
    seq = load_pose_file(out)
    assert seq.num_frames == len(uv) and seq.valid.all() and seq.image_size == (W, H)
    rel_gt = cam - cam[:, :1]
    rel = seq.poses_3d - seq.poses_3d[:, :1]
    flat = rel_gt.copy()
    flat[..., 2] = 0
    assert _pa(rel, rel_gt) < 0.75 * _pa(flat, rel_gt)            # far better than no depth
    assert (tmp_path / "lifted.bvh").is_file()
    # the root lands on the right side of the camera, at a plausible distance for this view
    assert 2.0 < np.median(seq.poses_3d[:, 0, 2]) < 9.0


def test_lift_pose_file_poses_2d_with_missing_frames(tmp_path, heldout):
    _cam, uv, fps = heldout
    xy = uv[:40].copy()
    sc = np.ones(xy.shape[:2], np.float32)
    xy[10:13], sc[10:13] = np.nan, 0                             # three frames without a person
    save_pose_file(tmp_path / "in.npz", PoseSequence(poses_3d=np.full((40, 17, 3), np.nan), fps=fps,
                                                     poses_2d=xy, scores=sc, image_size=(W, H),
                                                     valid=np.zeros(40, bool)))
    out = tmp_path / "out.npz"
    assert main(["lift", str(tmp_path / "in.npz"), "--out", str(out), "--mode", "bidirectional"]) == 0
    seq = load_pose_file(out)
    assert not seq.valid[10:13].any() and np.isnan(seq.poses_3d[10:13]).all()
    assert seq.valid[:10].all() and seq.valid[13:].all()


def test_bad_keypoint_files_are_one_line(tmp_path, heldout, capsys):
    _, uv, _ = heldout
    cases = [
        (_vp3d_coco(tmp_path / "nan.npz", uv[:5], nan=True), "NaN"),
        (_vp3d_coco(tmp_path / "mpii.npz", uv[:5], layout="mpii"), "layout_name"),
        (tmp_path / "missing.json", "missing.json"),
    ]
    for path, expect in cases:
        out = tmp_path / "o.npz"
        assert main(["lift", str(path), "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and expect in err[0], err
        assert not out.exists()
    assert main(["lift", str(tmp_path / "nan.npz"), "--out", str(tmp_path / "o.txt")]) == 2
    assert "must end in .npz" in capsys.readouterr().err


def test_coco_layout_has_no_head_top_or_pelvis_but_lifts_all_17(tmp_path, heldout):
    """COCO lacks H36M's pelvis, spine, thorax, head top: they are synthesised, and every output joint is finite."""
    _, uv, _fps = heldout
    assert "pelvis" not in COCO17.names and "head_top" not in COCO17.names
    out = tmp_path / "c.npz"
    assert main(["lift", str(_vp3d_coco(tmp_path / "c_in.npz", uv[:20])), "--out", str(out), "--mode", "none"]) == 0
    assert np.isfinite(load_pose_file(out).poses_3d).all()


def _pose_file_2d(path, uv, sc, fps):
    save_pose_file(path, PoseSequence(poses_3d=np.full((len(uv), 17, 3), np.nan), fps=fps, poses_2d=uv, scores=sc,
                                      image_size=(W, H), valid=np.zeros(len(uv), bool)))
    return path


def _lift_online(tmp_path, name, uv, sc, fps, *extra):
    out = tmp_path / f"{name}.npz"
    assert main(["lift", str(_pose_file_2d(tmp_path / f"{name}_in.npz", uv, sc, fps)), "--out", str(out),
                 *extra]) == 0
    return load_pose_file(out)


@pytest.fixture(scope="module")
def heldout_with_gaps(heldout):
    """The held-out clip's 2D with a short gap (held by the online refiner) and a long one (a fresh start)."""
    _cam, uv, fps = heldout
    uv, sc = uv.copy(), np.ones(uv.shape[:2], np.float32)
    short, long_ = slice(30, 33), slice(60, 60 + int(0.8 * fps))
    for gap in (short, long_):
        uv[gap], sc[gap] = np.nan, 0
    return uv, sc, fps


def test_lift_online_gives_the_video_commands_online_3d(tmp_path, heldout_with_gaps, monkeypatch):
    """The same 2D through `lift --mode online` and through the video path (process_video, its detector
    replaced by the keypoints): the same 3D, frame by frame, including held and restarted frames."""
    from structpose.pipeline import detector
    from structpose.pipeline.detector import Detection
    from structpose.pipeline.video import process_video
    uv, sc, fps = heldout_with_gaps
    lifted = _lift_online(tmp_path, "lift", uv, sc, fps, "--mode", "online")

    frame = np.zeros((H, W, 3), np.uint8)
    index = iter(range(len(uv)))

    class Capture:
        def __init__(self):
            self.k = 0

        def read(self):
            self.k += 1
            return (self.k <= len(uv)), frame

        def release(self):
            pass

    class KeypointDetector:                      # the video's detections are exactly the file's keypoints
        def __init__(self, video=False):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            pass

        def __call__(self, image):
            k = next(index)
            found = bool(sc[k].any())
            return Detection(uv[k].copy(), sc[k].copy(), found)

    monkeypatch.setattr(detector, "PoseDetector", KeypointDetector)
    info = {"fps": fps, "fps_known": True, "frames": len(uv), "width": W, "height": H, "live": False, "name": "kp"}
    video, _ = process_video("kp", mode="online", fit=True, progress=False, opened=(Capture(), info))
    assert np.array_equal(lifted.valid, video.valid) and lifted.valid.sum() > 0.7 * len(uv)
    assert np.abs(lifted.poses_3d[lifted.valid] - video.poses_3d[video.valid]).max() < 1e-4
    assert lifted.meta["mode"] == "online" and lifted.meta["fit"] is True


def test_lift_online_is_causal_and_bidirectional_is_not(tmp_path, heldout_with_gaps):
    """Changing the 2D after frame t (another motion: the clip played backwards) leaves the online 3D of frames
    up to t unchanged.  The whole-sequence bone lengths of bidirectional mode (and its future window) do move
    them: the check can fail."""
    uv, sc, fps = heldout_with_gaps
    t = 45
    other_uv, other_sc = uv.copy(), sc.copy()
    other_uv[t + 1:], other_sc[t + 1:] = uv[::-1][:len(uv) - t - 1], sc[::-1][:len(uv) - t - 1]
    for mode, causal in (("online", True), ("bidirectional", False)):
        a = _lift_online(tmp_path, f"{mode}_a", uv, sc, fps, "--mode", mode)
        b = _lift_online(tmp_path, f"{mode}_b", other_uv, other_sc, fps, "--mode", mode)
        assert np.array_equal(a.valid[:t + 1], b.valid[:t + 1])
        change = np.nanmax(np.abs(a.poses_3d[:t + 1] - b.poses_3d[:t + 1]))
        assert (change < 1e-6) if causal else (change > 1e-3), (mode, change)
        assert np.nanmax(np.abs(a.poses_3d[t + 1:] - b.poses_3d[t + 1:])) > 1e-2      # the change is real
