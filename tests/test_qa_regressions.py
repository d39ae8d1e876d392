"""Regressions found by QA (H7): each test reproduces a user-visible bug that was fixed."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from structpose.cli import main
from structpose.io.export import export
from structpose.io.posefile import PoseSequence


def test_export_of_a_sequence_without_any_pose_skips_bvh_and_vp3d_but_writes_the_rest(tmp_path, capsys):
    # `structpose video` on a clip where nobody is found, with --export json,csv,bvh: the npz, JSON and
    # CSV used to be written and then the BVH export raised (exit 2 with outputs on disk).
    seq = PoseSequence(poses_3d=np.full((4, 17, 3), np.nan, np.float32), fps=25.0,
                       valid=np.zeros(4, bool))
    written = export(seq, tmp_path / "out.npz", ["json", "csv", "bvh", "vp3d"])
    assert sorted(p.name for p in written) == ["out.csv", "out.json"]
    assert not (tmp_path / "out.bvh").exists() and not list(tmp_path.glob("*.vp3d.npz"))
    frames = json.loads((tmp_path / "out.json").read_text())["frames"]
    assert len(frames) == 4 and not any(f["valid"] for f in frames)
    err = capsys.readouterr().err
    assert "out.bvh not written" in err and "vp3d" in err


def _tiny_video(path, n=2):
    import cv2
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (64, 48))
    for i in range(n):
        w.write(np.full((48, 64, 3), 40 * i, np.uint8))
    w.release()
    return path


def test_video_refuses_a_render_path_that_is_the_input_video(tmp_path, capsys):
    # `structpose video v.mp4 --out p.npz --render v.mp4` replaced the user's input video by the render.
    src = _tiny_video(tmp_path / "v.mp4")
    before = src.read_bytes()
    assert main(["video", str(src), "--out", str(tmp_path / "p.npz"), "--no-progress", "--render",
                 str(tmp_path / "." / "v.mp4")]) == 2
    assert "is the same file as VIDEO" in capsys.readouterr().err
    assert src.read_bytes() == before and not (tmp_path / "p.npz").exists()


@pytest.mark.parametrize("args", [["--max-frames", "0"], ["--min-score", "1.5"], ["--render", "r.webm"]])
def test_video_rejects_option_values_that_would_silently_produce_nothing(tmp_path, args, capsys):
    # --max-frames 0 was reported as "empty or corrupt video"; --min-score > 1 masked every joint and
    # reported "no person was found" with exit 0; a --render name OpenCV cannot encode failed only
    # once rendering began (after the whole video in bidirectional mode) with a misleading message.
    src = _tiny_video(tmp_path / "v.mp4")
    assert main(["video", str(src), "--out", str(tmp_path / "p.npz"), "--no-progress", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("structpose video: error: ") and args[1] in err
    assert not (tmp_path / "p.npz").exists()


def test_image_sapnet_overlay_draws_the_joints_its_3d_pose_uses(tmp_path, capsys):
    # SAP-Net's scores are heatmap peaks below the default --min-score: the overlay was the bare photo
    # and the report said "0/17 joints seen" next to a 17-joint 3D pose.
    import cv2
    photo = "/usr/share/doc/opencv-doc/examples/data/messi5.jpg"
    assert main(["image", photo, "--out", str(tmp_path), "--model", "sapnet"]) == 0
    assert "17/17 joints seen" in capsys.readouterr().out
    overlay = cv2.imread(str(tmp_path / "messi5_overlay.png")).astype(int)
    changed = (np.abs(overlay - cv2.imread(photo).astype(int)).sum(-1) > 60).mean()
    assert changed > 0.002                      # skeleton lines cover a visible share of the pixels


def _walk_file(tmp_path):
    from structpose.io.posefile import save_pose_file
    rng = np.random.default_rng(0)
    poses = (rng.normal(size=(3, 17, 3)) * 0.2 + np.array([0, 0, 4.0])).astype(np.float32)
    return save_pose_file(tmp_path / "p.npz", PoseSequence(poses_3d=poses, fps=30.0))


@pytest.mark.parametrize("argv", [
    ["evaluate", "{p}", "{p}", "--out", "/proc/structpose_qa/e.json"],     # /proc: no folder can be made
    ["refine", "{p}", "--out", "/proc/structpose_qa/r.npz"],
    ["evaluate", "{p}", "{p}", "--out", "{dir}"],                            # an existing folder
    ["image", "/usr/share/doc/opencv-doc/examples/data/messi5.jpg", "--out", "/proc/structpose_qa"],
])
def test_unwritable_output_paths_are_one_line_errors(tmp_path, capsys, argv):
    # these printed a FileNotFoundError / IsADirectoryError traceback (exit 1)
    p = _walk_file(tmp_path)
    (tmp_path / "d").mkdir()
    argv = [a.format(p=p, dir=tmp_path / "d") for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"structpose {argv[0]}: error: ")
    assert "Traceback" not in err


def test_export_onnx_unsupported_opset_is_one_line_and_writes_nothing(tmp_path, capsys):
    # `structpose export onnx --opset 3` printed the exporter's RuntimeError traceback
    out = tmp_path / "m.onnx"
    assert main(["export", "onnx", "--model", "sapnet", "--out", str(out), "--opset", "3"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("structpose export onnx: error: --opset 3")
    assert not out.exists() and not list(tmp_path.iterdir())


def test_refine_bone_length_file_problems_are_named(tmp_path, capsys):
    # a {joint: length} file lacking joints said only "unreadable bone lengths (StructposeError)";
    # a pose file without any valid frame as --bone-lengths raised an IndexError traceback
    p = _walk_file(tmp_path)
    partial = tmp_path / "bl.json"
    partial.write_text(json.dumps({"r_knee": 0.45}))
    empty = tmp_path / "none.npz"
    from structpose.io.posefile import save_pose_file
    save_pose_file(empty, PoseSequence(poses_3d=np.full((2, 17, 3), np.nan, np.float32), fps=30.0,
                                       valid=np.zeros(2, bool)))
    for lengths, words in ((partial, "lack child joints r_hip"), (empty, "no valid frame")):
        assert main(["refine", str(p), "--out", str(tmp_path / "o.npz"), "--bone-lengths", str(lengths)]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and words in err, err
    assert not (tmp_path / "o.npz").exists()


def test_videopose3d_export_round_trip_keeps_the_frame_rate(tmp_path, deepmimic_camera_poses):
    # the 3D file was re-read at Human3.6M's 50 Hz and the 2D one at an assumed 30 fps: a 25 fps
    # export converted with --fps 25 came back with half its frames
    from structpose.data.formats.vp3d import load_2d, load_3d
    from structpose.io.export import write_vp3d
    cam = np.asarray(deepmimic_camera_poses[:12], np.float32)
    uv = cam[..., :2] / cam[..., 2:] * 800.0 + 400.0
    seq = PoseSequence(poses_3d=cam, fps=25.0, poses_2d=uv, scores=np.ones(uv.shape[:2], np.float32),
                       image_size=(800, 800))
    p2, p3 = write_vp3d(tmp_path / "run.vp3d.npz", seq, name="run")
    (m3,) = load_3d(p3)
    (k2,) = load_2d(p2)
    assert m3.fps == 25.0 and k2.fps == 25.0 and len(m3.poses) == 12 and len(k2.xy) == 12


def test_refine_says_which_missing_frames_it_bridged(tmp_path, capsys, deepmimic_camera_poses):
    # refine turned frames without a pose (valid False, e.g. nobody detected) into valid frames and
    # reported "0 frames without a pose": the invented frames were nowhere recorded
    from structpose.io.posefile import load_pose_file, save_pose_file
    poses = np.asarray(deepmimic_camera_poses[:30], np.float32).copy()
    valid = np.ones(30, bool)
    valid[[10, 11, 12]] = False
    poses[~valid] = np.nan
    src = save_pose_file(tmp_path / "in.npz", PoseSequence(poses_3d=poses, fps=24.0, valid=valid))
    assert main(["refine", str(src), "--out", str(tmp_path / "o.npz")]) == 0
    assert "3 missing input frames bridged" in capsys.readouterr().out
    out = load_pose_file(tmp_path / "o.npz")
    assert out.num_frames == 30 and out.fps == 24.0
    assert out.meta["refine"]["bridged_frames"] == [10, 11, 12] and out.valid.all()


@pytest.mark.parametrize("cmd", ["lift", "video"])
def test_tpnet_with_mode_none_is_refused_not_ignored(tmp_path, capsys, cmd):
    # --mode none runs the lifter alone: a --tpnet model given with it was accepted and never used
    src = _tiny_video(tmp_path / "v.mp4") if cmd == "video" else _walk_file(tmp_path)
    import structpose
    weights = str(Path(structpose.__file__).parent / "weights" / "tpnet_online.pt")
    assert main([cmd, str(src), "--out", str(tmp_path / "o.npz"), "--mode", "none", "--tpnet", weights]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"structpose {cmd}: error: --tpnet has no effect with --mode none")
    assert not (tmp_path / "o.npz").exists()
