"""io.posefile: a pose file with wrongly typed or out-of-range fields is one line, in every command that reads it."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from structpose.cli import main
from structpose.errors import StructposeError
from structpose.io.posefile import PoseSequence, load_pose_file, save_pose_file


def _arrays(T: int = 6) -> dict:
    rng = np.random.default_rng(0)
    poses = rng.normal(0, 0.2, (T, 17, 3)).astype(np.float32) + np.array([0, 0, 4], np.float32)
    return {"poses_3d": poses, "fps": np.array(30.0), "layout": np.array("h36m17"), "valid": np.ones(T, bool),
            "poses_2d": (500 * poses[..., :2] / poses[..., 2:] + 320).astype(np.float32),
            "scores": np.full((T, 17), 0.9, np.float32), "image_size": np.array([640, 480], np.int32),
            "meta": np.array(json.dumps({"source": "test"}))}


def _write(path: Path, **change) -> Path:
    a = _arrays()
    for k, v in change.items():
        if v is None:
            a.pop(k)
        else:
            a[k] = v
    np.savez(path, **a)
    return path


CASES = {
    "meta_list": ({"meta": np.array("[1, 2]")}, "JSON object"),
    "meta_string": ({"meta": np.array('"hello"')}, "JSON object"),
    "poses_strings": ({"poses_3d": np.full((6, 17, 3), "x")}, "expected numbers"),
    "fps_huge": ({"fps": np.array(1e9)}, "frame rate between"),
    "fps_tiny": ({"fps": np.array(1e-9)}, "frame rate between"),
    "size_zero": ({"image_size": np.array([0, 480])}, "image_size"),
    "size_three": ({"image_size": np.array([640, 480, 3])}, "image_size"),
    "size_float": ({"image_size": np.array([640.5, 480.0])}, "image_size"),
    "scores_100": ({"scores": np.full((6, 17), 100.0, np.float32)}, "0..1"),
    "scores_negative": ({"scores": np.full((6, 17), -1.0, np.float32)}, "0..1"),
    "pixels_1e30": ({"poses_2d": np.full((6, 17, 2), 1e30, np.float32)}, "1e\\+06"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_mistyped_fields_are_one_line(tmp_path, name):
    change, match = CASES[name]
    p = _write(tmp_path / "bad.npz", **change)
    with pytest.raises(StructposeError, match=match) as e:
        load_pose_file(p)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("cmd", ["lift", "refine", "evaluate", "convert"])
def test_commands_report_a_list_meta_in_one_line(tmp_path, capsys, cmd):
    p = _write(tmp_path / "bad.npz", meta=np.array("[1, 2]"))
    out = str(tmp_path / "o.npz")
    argv = {"lift": ["lift", str(p), "--out", out], "refine": ["refine", str(p), "--out", out],
            "evaluate": ["evaluate", str(p), str(p)], "convert": ["data", "convert", str(p), "--out", out]}[cmd]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "JSON object" in err


def test_refine_with_fps_on_a_string_array_file_is_one_line(tmp_path, capsys):
    p = _write(tmp_path / "s.npz", fps=None, poses_3d=np.full((6, 17, 3), "abc"))
    assert main(["refine", str(p), "--out", str(tmp_path / "o.npz"), "--fps", "10"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "numbers" in err


def test_a_good_file_round_trips(tmp_path):
    p = _write(tmp_path / "good.npz")
    seq = load_pose_file(p)
    assert seq.image_size == (640, 480) and seq.meta == {"source": "test"}
    save_pose_file(tmp_path / "again.npz", seq)
    assert np.array_equal(load_pose_file(tmp_path / "again.npz").poses_3d, seq.poses_3d)
    with pytest.raises(StructposeError, match="image_size"):
        PoseSequence(poses_3d=seq.poses_3d, fps=30.0, image_size=(640, -1))
