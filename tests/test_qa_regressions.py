"""Regressions found by QA (H7): each test reproduces a user-visible bug that was fixed."""
from __future__ import annotations

import json

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
    assert "is the input video" in capsys.readouterr().err
    assert src.read_bytes() == before and not (tmp_path / "p.npz").exists()


@pytest.mark.parametrize("args", [["--max-frames", "0"], ["--min-score", "1.5"]])
def test_video_rejects_option_values_that_would_silently_produce_nothing(tmp_path, args, capsys):
    # --max-frames 0 was reported as "empty or corrupt video"; --min-score > 1 masked every joint and
    # reported "no person was found" with exit 0.
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
