"""`structpose view` and `structpose export anim`: the page is self-contained; bad input is one line, exit 2,
and no output file."""
from __future__ import annotations

import json
import re

import cv2
import numpy as np
import pytest

from structpose.cli import main
from structpose.io.posefile import PoseSequence, save_pose_file
from structpose.viewer import page_data

T = 12


@pytest.fixture()
def posefile(tmp_path, deepmimic_camera_poses):
    p3 = deepmimic_camera_poses[:T]
    p2 = p3[..., :2] / p3[..., 2:] * 500 + 320
    return save_pose_file(tmp_path / "run.npz", PoseSequence(poses_3d=p3, fps=25.0, poses_2d=p2, image_size=(640, 480)))


def _video(path, n, fps):
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (64, 48))
    for i in range(n):
        vw.write(np.full((48, 64, 3), 10 * i, np.uint8))
    vw.release()
    return path


def _fails(capsys, argv, *words):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and all(w in err[0] for w in words), err


def test_page_is_self_contained_and_holds_the_poses_turned_y_up(tmp_path, posefile, capsys):
    video = _video(tmp_path / "in.avi", T, 25.0)
    assert main(["view", str(posefile), "--video", str(video), "--out", str(tmp_path / "v.html")]) == 0
    html = (tmp_path / "v.html").read_text()
    # nothing is fetched: no external script, stylesheet, image or module import
    assert not re.search(r"<(script|link|img|iframe)[^>]*\b(src|href)\s*=", html)
    assert "MIT License" in html                               # three.js licence travels with its code
    data = json.loads(re.search(r'id="structpose-data">(.*?)</script>', html, re.DOTALL)[1])
    seq = PoseSequence(poses_3d=np.load(posefile)["poses_3d"], fps=25.0)
    assert np.abs(np.array(data["poses"]) - seq.poses_3d * np.array([1, -1, -1])).max() < 1e-5
    frames = json.loads(re.search(r'id="structpose-video">(.*?)</script>', html, re.DOTALL)[1])["frames"]
    assert len(frames) == T


def test_all_invalid_frames_is_one_line(tmp_path, capsys):
    p = save_pose_file(tmp_path / "empty.npz", PoseSequence(poses_3d=np.full((4, 17, 3), np.nan), fps=30.0))
    _fails(capsys, ["view", str(p), "--out", str(tmp_path / "v.html")], "no frame with a pose")
    _fails(capsys, ["export", "anim", str(p), "--out", str(tmp_path / "a.glb")], "no frame holds a pose")
    assert not list(tmp_path.glob("*.html")) and not list(tmp_path.glob("*.glb"))
    with pytest.raises(Exception, match="no frame with a pose"):
        page_data(PoseSequence(poses_3d=np.full((4, 17, 3), np.nan), fps=30.0))


@pytest.mark.parametrize("n, fps, words", [(T - 3, 25.0, ("has 9 frames", f"has {T}")),
                                           (T + 5, 25.0, (f"more than {T} frames",)),
                                           (T, 10.0, ("10 fps", "25 fps"))])
def test_a_video_that_does_not_match_the_pose_file_is_one_line(tmp_path, posefile, capsys, n, fps, words):
    video = _video(tmp_path / "in.avi", n, fps)
    _fails(capsys, ["view", str(posefile), "--video", str(video), "--out", str(tmp_path / "v.html")], *words)
    assert not list(tmp_path.glob("*.html")) and not list(tmp_path.glob(".v.html*"))


def test_other_bad_input_is_one_line(tmp_path, posefile, capsys):
    _fails(capsys, ["view", str(posefile), "--out", str(tmp_path / "v.png")], "ending in .html")
    _fails(capsys, ["view", str(posefile), "--video", str(tmp_path / "none.mp4"), "--out", str(tmp_path / "v.html")],
           "no such file")
    (tmp_path / "junk.mp4").write_bytes(b"not a video")
    _fails(capsys, ["view", str(posefile), "--video", str(tmp_path / "junk.mp4"), "--out", str(tmp_path / "v.html")],
           "junk.mp4")
    _fails(capsys, ["view", str(posefile), "--video", str(_video(tmp_path / "in.avi", T, 25.0)),
                    "--max-video-mb", "0.0001", "--out", str(tmp_path / "v.html")], "limit")
    _fails(capsys, ["export", "anim", str(posefile), "--out", str(tmp_path / "a.fbx")], ".bvh or .glb")
    no_size = save_pose_file(tmp_path / "nosize.npz", PoseSequence(poses_3d=np.load(posefile)["poses_3d"], fps=25.0))
    _fails(capsys, ["view", str(no_size), "--video", str(tmp_path / "in.avi"), "--out", str(tmp_path / "v.html")],
           "no image_size")
    assert not list(tmp_path.glob("*.html"))


def test_export_anim_writes_bvh_and_glb(tmp_path, posefile, capsys):
    import pygltflib
    assert main(["export", "anim", str(posefile), "--out", str(tmp_path / "a.glb")]) == 0
    assert main(["export", "anim", str(posefile), "--out", str(tmp_path / "a.bvh"), "--units", "m"]) == 0
    g = pygltflib.GLTF2().load(str(tmp_path / "a.glb"))
    assert len(g.skins[0].joints) == 25 and len(g.animations[0].channels) == 21    # 20 rotations + root translation
    assert (tmp_path / "a.bvh").read_text().count("Frames: 12") == 1


def test_video_writes_the_viewer_and_animations_beside_the_pose_file(tmp_path, capsys):
    from pathlib import Path

    from benchmarks._helpers import write_still_video
    from structpose.io.bvh_export import yup_poses
    from structpose.io.posefile import load_pose_file
    photos = Path("/usr/share/doc/opencv-doc/examples/data")
    video = write_still_video(tmp_path / "still.mp4", [photos / "basketball1.png", photos / "messi5.jpg"], 4,
                              fps=25.0, blank_frames=2)
    out, view = tmp_path / "run.npz", tmp_path / "run.html"
    _fails(capsys, ["video", str(video), "--out", str(out), "--view", str(tmp_path / "run.png"), "--no-progress"],
           "ending in .html")
    assert not out.exists()                                             # refused before any work
    assert main(["video", str(video), "--out", str(out), "--export", "bvh,glb", "--view", str(view),
                 "--no-progress"]) == 0
    seq = load_pose_file(out)
    assert (tmp_path / "run.bvh").is_file() and (tmp_path / "run.glb").is_file()
    html = view.read_text()
    data = json.loads(re.search(r'id="structpose-data">(.*?)</script>', html, re.DOTALL)[1])
    frames = json.loads(re.search(r'id="structpose-video">(.*?)</script>', html, re.DOTALL)[1])["frames"]
    assert len(frames) == seq.num_frames == 10
    yup, _ = yup_poses(seq)
    for t in range(seq.num_frames):
        if seq.valid[t]:
            assert np.abs(np.array(data["poses"][t]) - yup[t]).max() < 1e-5
        else:
            assert data["poses"][t] is None
    assert not seq.valid[-2:].any()                                     # the grey frames: no person, no skeleton
