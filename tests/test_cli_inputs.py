"""Command options and inputs at the edges (issue 15's weak spots): each is one line (exit 2), a warning, or a
documented behaviour, checked on inputs built here."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from structpose.cli import main
from structpose.io.posefile import PoseSequence, load_pose_file, save_pose_file


@pytest.fixture
def walk(deepmimic_camera_poses) -> np.ndarray:
    """Real motion in the camera frame, metres: (T, 17, 3)."""
    return np.asarray(deepmimic_camera_poses[:40], np.float32)


def _save(path: Path, poses: np.ndarray, **kw) -> Path:
    save_pose_file(path, PoseSequence(poses_3d=poses, fps=kw.pop("fps", 30.0), **kw))
    return path


def _one_line(capsys, code: int, argv: list[str], *words: str) -> str:
    got = main(argv)
    err = capsys.readouterr().err.strip()
    assert got == code, err
    if code == 2:
        assert len(err.splitlines()) == 1, err
    for w in words:
        assert w in err, err
    return err


@pytest.mark.parametrize("opt,value,word", [("--fps", "1e9", "frame rate between"), ("--fps", "1e-9", "frame rate"),
                                            ("--max-gap", "nan", "--max-gap"), ("--max-gap", "-1", "--max-gap")])
def test_refine_options_out_of_range(tmp_path, capsys, walk, opt, value, word):
    p = _save(tmp_path / "w.npz", walk)
    _one_line(capsys, 2, ["refine", str(p), "--out", str(tmp_path / "o.npz"), opt, value], word)
    assert not (tmp_path / "o.npz").exists()


@pytest.mark.parametrize("content,word", [([1e-300] * 16, "0.01 m"), ([True] * 16, "numbers"),
                                          ([0.3] * 15, "16 positive"), ({"l_knee": 0.4}, "lack")])
def test_bone_length_files_are_checked(tmp_path, capsys, walk, content, word):
    p = _save(tmp_path / "w.npz", walk)
    b = tmp_path / "bones.json"
    b.write_text(json.dumps(content))
    _one_line(capsys, 2, ["refine", str(p), "--out", str(tmp_path / "o.npz"), "--bone-lengths", str(b)], word)


def test_all_zero_valid_frames_are_refined_as_missing(tmp_path, capsys, walk):
    poses = walk.copy()
    poses[10:12] = 0.0                                   # "valid" frames with every joint at the camera centre
    p = _save(tmp_path / "z.npz", poses, valid=np.ones(len(poses), bool))
    err = _one_line(capsys, 0, ["refine", str(p), "--out", str(tmp_path / "o.npz"), "--max-gap", "0"], "no skeleton")
    assert "2 frame(s)" in err
    out = load_pose_file(tmp_path / "o.npz")
    assert not out.valid[10:12].any() and out.valid[:10].all()


def test_evaluate_detects_millimetres_like_refine(tmp_path, capsys, walk):
    gt = _save(tmp_path / "gt.npz", walk)
    # a pose file may hold up to a few metres of coordinates; millimetres are refused before any metric
    mm = tmp_path / "mm.npz"
    np.savez(mm, poses_3d=walk * 1000, fps=np.array(30.0), layout=np.array("h36m17"),
             valid=np.ones(len(walk), bool))
    _one_line(capsys, 2, ["evaluate", str(mm), str(gt)], "metres")
    _one_line(capsys, 2, ["refine", str(mm), "--out", str(tmp_path / "o.npz")], "metres")
    _one_line(capsys, 0, ["evaluate", str(gt), str(gt)])


def test_lift_masks_keypoints_far_outside_the_image(tmp_path, capsys, walk):
    uv = 800 * walk[..., :2] / walk[..., 2:] + np.array([320, 240], np.float32)
    sc = np.ones(uv.shape[:2], np.float32)
    uv_bad = uv.copy()
    uv_bad[5, 13] = (-5000.0, 99999.0)                  # a wrist 100 000 px below a 640x480 image
    p = _save(tmp_path / "k.npz", np.full(walk.shape, np.nan, np.float32), poses_2d=uv_bad, scores=sc,
              image_size=(640, 480), valid=np.zeros(len(walk), bool))
    err = _one_line(capsys, 0, ["lift", str(p), "--out", str(tmp_path / "o.npz"), "--mode", "none"],
                    "outside the 640x480 image")
    out = load_pose_file(tmp_path / "o.npz")
    assert out.meta["keypoints_far_outside_image"] == 1 and "1 keypoint" in err
    # the frame still lifts from its other joints, and lands within metres of the camera
    assert out.valid[5] and np.abs(out.poses_3d[5]).max() < 50


def test_lift_refuses_absurd_fps(tmp_path, capsys, walk):
    uv = 800 * walk[..., :2] / walk[..., 2:] + 320
    p = _save(tmp_path / "k.npz", np.full(walk.shape, np.nan, np.float32), poses_2d=uv,
              scores=np.ones(uv.shape[:2], np.float32), valid=np.zeros(len(walk), bool))
    _one_line(capsys, 2, ["lift", str(p), "--out", str(tmp_path / "o.npz"), "--fps", "1e9"], "frame rate")
    with pytest.raises(SystemExit) as e:                 # an argparse type check: one line too, no usage block
        main(["data", "convert", str(p), "--out", str(tmp_path / "c.npz"), "--fps", "1e-9"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "frame rate between" in err
    assert err.count("\n") == 1 and err.startswith("structpose data convert: error:") and "usage" not in err


def test_convert_refuses_a_camera_file_it_would_ignore(tmp_path, capsys, walk):
    p = _save(tmp_path / "w.npz", walk)
    cam = tmp_path / "cameras.pkl"
    cam.write_bytes(b"x")
    _one_line(capsys, 2, ["data", "convert", str(p), "--out", str(tmp_path / "o.npz"), "--camera-file", str(cam)],
              "--camera-file")


@pytest.mark.parametrize("argv,word", [
    (["--seeds", "a,b"], "--seeds"), (["--seeds", "0,0"], "different"), (["--warm-steps", "-1"], "--warm-steps"),
    (["--lambda-scales", "nan"], "--lambda-scales"), (["--lambda-scales", "inf"], "--lambda-scales")])
def test_ablation_options(tmp_path, capsys, argv, word):
    _one_line(capsys, 2, ["analyze", "ablation", "--out", str(tmp_path / "a"), *argv], word)
    assert not (tmp_path / "a").exists()


@pytest.mark.parametrize("argv,word", [(["--sigma", "1e9"], "--sigma"), (["--sigma", "nan"], "--sigma"),
                                       (["--seed", "-1"], "--seed"), (["--samples", "0"], "--samples")])
def test_sensitivity_options(tmp_path, capsys, argv, word):
    _one_line(capsys, 2, ["analyze", "sensitivity", "--out", str(tmp_path / "s"), *argv], word)


def test_data_show_refuses_negative_frames(tmp_path, capsys, walk):
    p = _save(tmp_path / "w.npz", walk)
    with pytest.raises(SystemExit) as e:
        main(["data", "show", str(p), "--out", str(tmp_path / "s.png"), "--frames=-1"])
    assert e.value.code == 2 and ">= 0" in capsys.readouterr().err
    assert not (tmp_path / "s.png").exists()


def test_mixed_coco_image_sizes_are_warned_not_guessed_silently(tmp_path, capsys, walk):
    from structpose.data.formats import load_keypoints_2d
    from structpose.skeleton import COCO17, H36M17, convert
    uv = convert(800 * walk[:2, :, :2] / walk[:2, :, 2:] + 320, H36M17.name, COCO17.name)
    images = [{"id": 1, "file_name": "a.jpg", "width": 640, "height": 480},
              {"id": 2, "file_name": "b.jpg", "width": 1920, "height": 1080}]
    vis = np.where(np.isfinite(uv).all(-1), 2.0, 0.0)[..., None]       # eyes/ears have no H36M source
    uv = np.nan_to_num(uv)
    anns = [{"id": i + 1, "image_id": i + 1, "category_id": 1, "iscrowd": 0, "area": 1000.0, "num_keypoints": 17,
             "bbox": [0, 0, 100, 100],
             "keypoints": np.concatenate([uv[i], vis[i]], 1).reshape(-1).tolist()} for i in range(2)]
    p = tmp_path / "person_keypoints.json"
    p.write_text(json.dumps({"images": images, "annotations": anns,
                             "categories": [{"id": 1, "name": "person", "keypoints": list(COCO17.names)}]}))
    (k,) = load_keypoints_2d(p, "coco")
    err = capsys.readouterr().err
    assert k.image_size is None and "2 different sizes" in err and "640x480" in err
