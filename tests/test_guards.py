"""io.guards: no command writes over one of its inputs (same path, another spelling, a symlink, a hard link,
an export side file), and input paths that are folders are named as folders."""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from structpose.cli import main
from structpose.errors import StructposeError
from structpose.io.guards import check_input_file, refuse_overwrite
from structpose.io.posefile import PoseSequence, save_pose_file


def _pose_file(path: Path, frames: int = 8) -> Path:
    rng = np.random.default_rng(1)
    poses = rng.normal(0, 0.2, (frames, 17, 3)).astype(np.float32) + np.array([0, 0, 4], np.float32)
    uv = 500 * poses[..., :2] / poses[..., 2:] + 320
    save_pose_file(path, PoseSequence(poses_3d=poses, fps=30.0, poses_2d=uv.astype(np.float32),
                                      scores=np.ones((frames, 17), np.float32), image_size=(640, 480)))
    return path


def _refused(argv: list[str], capsys, protected: Path, word: str = "same file") -> None:
    before = protected.read_bytes()
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and word in err, err
    assert protected.read_bytes() == before


def test_evaluate_out_naming_an_input_in_any_spelling(tmp_path, capsys):
    a, b = _pose_file(tmp_path / "a.npz"), _pose_file(tmp_path / "b.npz")
    (tmp_path / "link.npz").symlink_to(a)
    os.link(b, tmp_path / "hard.npz")
    sub = tmp_path / "sub"
    sub.mkdir()
    for out, prot in ((a, a), (b, b), (sub / ".." / "a.npz", a), (tmp_path / "link.npz", a),
                      (tmp_path / "hard.npz", b)):
        _refused(["evaluate", str(a), str(b), "--out", str(out)], capsys, prot)
    # and a distinct output is written
    assert main(["evaluate", str(a), str(b), "--out", str(tmp_path / "r.json")]) == 0
    capsys.readouterr()


def test_lift_refine_and_convert_refuse_their_input_as_output(tmp_path, capsys):
    p = _pose_file(tmp_path / "p.npz")
    _refused(["lift", str(p), "--out", str(p)], capsys, p)
    _refused(["refine", str(p), "--out", str(p)], capsys, p)
    _refused(["data", "convert", str(p), "--out", str(p)], capsys, p)


def test_export_side_files_never_replace_the_input(tmp_path, capsys):
    # a COCO-style keypoint file run.json; --out run.npz --export json would write run.json
    coco = tmp_path / "run.json"
    coco.write_text('{"images": [], "annotations": [], "categories": []}')
    _refused(["lift", str(coco), "--out", str(tmp_path / "run.npz"), "--export", "json"], capsys, coco,
             "--export json")


def test_video_render_and_out_naming_the_video(tmp_path, capsys):
    v = tmp_path / "clip.mp4"
    w = cv2.VideoWriter(str(v), cv2.VideoWriter_fourcc(*"mp4v"), 30, (64, 64))
    for _ in range(3):
        w.write(np.zeros((64, 64, 3), np.uint8))
    w.release()
    _refused(["video", str(v), "--out", str(tmp_path / "o.npz"), "--render", str(v)], capsys, v)
    (tmp_path / "alias.mp4").symlink_to(v)
    _refused(["video", str(v), "--out", str(tmp_path / "o.npz"), "--render", str(tmp_path / "alias.mp4")], capsys, v)


def test_image_outputs_never_replace_another_input_photo(tmp_path, capsys):
    a, b = tmp_path / "p.png", tmp_path / "p_3d.png"
    for f in (a, b):
        cv2.imwrite(str(f), np.full((32, 32, 3), 90, np.uint8))
    _refused(["image", str(a), str(b), "--out", str(tmp_path)], capsys, b)


def test_trainers_never_write_over_their_config(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    cfg = run / "config.yaml"
    cfg.write_text(yaml.safe_dump({"model": {"kind": "tpnet", "window": 4, "hidden": [8]}, "sources": ["deepmimic"],
                                   "steps": 2, "batch_size": 8, "out_dir": str(run)}))
    _refused(["train", "tpnet", "--config", str(cfg), "--no-progress"], capsys, cfg)
    _refused(["train", "tpnet", "--config", str(cfg), "--out-dir", str(tmp_path / "x"), "--export", str(cfg),
              "--no-progress"], capsys, cfg)
    sp = tmp_path / "sp.yaml"
    sp.write_text(yaml.safe_dump({"train": {"steps": 1, "batch_size": 2}}))
    _refused(["train", "sapnet", "--config", str(sp), "--out-dir", str(tmp_path / "s"), "--export", str(sp)],
             capsys, sp)


def test_helper_skips_absent_options_and_names_both_sides(tmp_path):
    f = tmp_path / "x.npz"
    f.write_bytes(b"1")
    refuse_overwrite({"--out": tmp_path / "y.npz", "--render": None}, {"INPUT": f, "--model": None})
    with pytest.raises(StructposeError, match=r"--out .*INPUT"):
        refuse_overwrite({"--out": str(f)}, {"INPUT": f})
    # not yet existing output, spelled with '..': still the same path
    with pytest.raises(StructposeError):
        refuse_overwrite({"--out": tmp_path / "d" / ".." / "z"}, {"INPUT": tmp_path / "z"})


def test_a_folder_given_as_a_file_is_called_a_folder(tmp_path, capsys):
    with pytest.raises(StructposeError, match="is a folder"):
        check_input_file(tmp_path, "--lifter")
    # (the tmp folder's own name holds the word "folder": look for the phrase)
    d = tmp_path / "d"
    d.mkdir()
    pose = _pose_file(tmp_path / "p.npz")
    for argv in (["refine", str(d), "--out", str(tmp_path / "o.npz")], ["evaluate", str(d), str(d)],
                 ["refine", str(pose), "--out", str(tmp_path / "o.npz"), "--model", str(d)],
                 ["refine", str(pose), "--out", str(tmp_path / "o.npz"), "--bone-lengths", str(d)],
                 ["lift", str(pose), "--out", str(tmp_path / "o.npz"), "--lifter", str(d)],
                 ["image", str(d), "--out", str(tmp_path / "im")], ["video", str(d), "--out", str(tmp_path / "o.npz")],
                 ["export", "onnx", "--model", "sapnet", "--weights", str(d), "--out", str(tmp_path / "o.onnx")]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert f"{d} is a folder" in err and len(err.strip().splitlines()) == 1, (argv, err)
