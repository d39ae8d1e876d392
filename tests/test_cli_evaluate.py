"""``structpose evaluate``: correct numbers in mm / %, invalid frames excluded, bad input -> one line, exit 2."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from structpose.cli import main
from structpose.io.posefile import PoseSequence, save_pose_file


@pytest.fixture(scope="module")
def files(tmp_path_factory, deepmimic_clips):
    d = tmp_path_factory.mktemp("eval")
    clip = deepmimic_clips[3]
    gt = clip.in_camera()
    rng = np.random.default_rng(0)
    pred = gt + rng.normal(0, 0.03, gt.shape).astype(np.float32)
    valid = np.ones(len(gt), bool)
    valid[[2, 10, 11]] = False
    pred[[2, 10, 11]] = np.nan                      # no person found on those frames
    save_pose_file(d / "gt.npz", PoseSequence(gt, clip.fps))
    save_pose_file(d / "pred.npz", PoseSequence(pred, clip.fps, valid=valid))
    return d, pred, gt, valid


def test_json_values_in_mm_and_invalid_frames_counted(files, capsys):
    d, pred, gt, valid = files
    assert main(["evaluate", str(d / "pred.npz"), str(d / "gt.npz"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    p = pred[valid].astype(np.float64) - pred[valid, :1]
    g = gt[valid].astype(np.float64) - gt[valid, :1]
    d_mm = 1000 * np.sqrt(((p - g) ** 2).sum(-1))
    assert out["mpjpe"] == pytest.approx(d_mm.mean(), rel=1e-5)
    assert out["pck3d"] == pytest.approx(100 * (d_mm <= 150).mean())
    assert out["frames_excluded"] == 3 and out["frames"] == int(valid.sum())
    assert out["pa_mpjpe"] < out["mpjpe"]
    assert out["symmetry_error_gt"] < 0.01 and out["symmetry_error"] > 1.0     # mm: noise breaks symmetry
    assert out["units"]["mpjpe"] == "mm" and out["units"]["pck3d"] == "%"
    per_joint = out["mpjpe_per_joint"]
    assert per_joint["pelvis"] == 0.0                                  # root-relative: the root is exact
    assert np.mean(list(per_joint.values())) == pytest.approx(out["mpjpe"], rel=1e-9)
    assert per_joint["r_wrist"] == pytest.approx(d_mm[:, 16].mean(), rel=1e-5)
    for key in ("n_mpjpe", "mpjve", "auc3d", "bone_length_std", "illegal_angle_ratio"):
        assert isinstance(out[key], float)


def test_table_output_and_out_file(files, capsys, tmp_path):
    d, *_ = files
    target = tmp_path / "res.json"
    assert main(["evaluate", str(d / "pred.npz"), str(d / "gt.npz"), "--out", str(target)]) == 0
    text = capsys.readouterr().out
    assert "PA-MPJPE" in text and "3 excluded" in text
    assert json.loads(target.read_text())["frames_excluded"] == 3


def _write_npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


def _bad_files(d: Path, gt: np.ndarray) -> dict[str, Path]:
    nan_valid = gt.copy()
    nan_valid[4, 7] = np.nan
    inf = gt.copy()
    inf[1, 1, 1] = np.inf
    garbage = d / "garbage.npz"
    garbage.write_bytes(b"this is not a zip file at all")
    return {
        "missing": d / "nope.npz",
        "garbage": garbage,
        "shape": _write_npz(d / "shape.npz", poses_3d=gt[:, :16], fps=np.array(30.0)),
        "layout": _write_npz(d / "layout.npz", poses_3d=gt, fps=np.array(30.0), layout=np.array("coco17")),
        "mistyped": _write_npz(d / "mistyped.npz", poses_3d=gt, fps=np.array("fast")),
        "no_poses": _write_npz(d / "nokey.npz", fps=np.array(30.0)),
        "inf": _write_npz(d / "inf.npz", poses_3d=inf, fps=np.array(30.0)),
        "nan_marked_valid": _write_npz(d / "nanvalid.npz", poses_3d=nan_valid, fps=np.array(30.0),
                                       valid=np.ones(len(gt), bool)),
        "fewer_frames": _write_npz(d / "short.npz", poses_3d=gt[:-1], fps=np.array(30.0)),
        "other_fps": _write_npz(d / "fps.npz", poses_3d=gt, fps=np.array(25.0)),
    }


@pytest.mark.parametrize("case", ["missing", "garbage", "shape", "layout", "mistyped", "no_poses", "inf",
                                  "nan_marked_valid", "fewer_frames", "other_fps"])
def test_bad_input_is_one_line_exit_2_nothing_written(case, files, capsys, tmp_path):
    _, _, gt, _ = files
    gt_file = _write_npz(tmp_path / "gt30.npz", poses_3d=gt, fps=np.array(30.0))
    bad = _bad_files(tmp_path, gt)[case]
    target = tmp_path / "out.json"
    code = main(["evaluate", str(bad), str(gt_file), "--json", "--out", str(target)])
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("structpose evaluate: error:"), captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    assert not target.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.json")]     # no temp file left


def test_bad_margin(files, capsys):
    d, *_ = files
    assert main(["evaluate", str(d / "pred.npz"), str(d / "gt.npz"), "--margin", "-0.1"]) == 2
    assert "--margin" in capsys.readouterr().err


def test_console_script_exit_code(files, tmp_path):
    d, *_ = files
    bad = tmp_path / "x.npz"
    bad.write_text("not npz")
    proc = subprocess.run([sys.executable, "-m", "structpose", "evaluate", str(bad), str(d / "gt.npz")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "not a readable" in proc.stderr
