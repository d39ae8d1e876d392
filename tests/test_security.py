"""A weights or checkpoint file must never run code: a crafted .pt whose unpickling would create a marker
file is given to every option that reads weights or checkpoints -> no marker, one line, exit status 2."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import yaml

from structpose.cli import main
from structpose.io.posefile import PoseSequence, save_pose_file


class _Payload:
    """Unpickling this calls ``open(marker, "w")``: a file appears if (and only if) the pickle is obeyed."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _bomb(path: Path, marker: Path) -> Path:
    # looks like a SAP-Net / TP-Net / lifter file from the outside: the payload sits inside a plausible dict
    torch.save({"kind": "sapnet", "config": {}, "state_dict": {}, "bone_sum": 4.0, "payload": _Payload(marker)},
               path)
    return path


@pytest.fixture
def bomb(tmp_path):
    marker = tmp_path / "PWNED"
    return _bomb(tmp_path / "evil.pt", marker), marker


def test_the_crafted_file_is_live(tmp_path):
    """Guard against a test that passes because the payload is broken: the unsafe load does create it."""
    marker = tmp_path / "proof"
    p = _bomb(tmp_path / "b.pt", marker)
    torch.load(p, weights_only=False)
    assert marker.exists()


def _pose_file(path: Path, frames: int = 12) -> Path:
    # the content hardly matters (the error must name the weights file, checked below): a jittered blob of joints
    rng = np.random.default_rng(0)
    poses = rng.normal(0, 0.3, (frames, 17, 3)).astype(np.float32)
    poses[..., 2] += 4.0
    uv = 500 * poses[..., :2] / poses[..., 2:] + 320
    save_pose_file(path, PoseSequence(poses_3d=poses, fps=30.0, poses_2d=uv.astype(np.float32),
                                      scores=np.ones((frames, 17), np.float32), image_size=(640, 480)))
    return path


def _video(path: Path) -> Path:
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, (64, 64))
    for i in range(5):
        w.write(np.full((64, 64, 3), 40 * i, np.uint8))
    w.release()
    return path


def _tpnet_cfg(tmp_path: Path) -> Path:
    p = tmp_path / "tp.yaml"
    p.write_text(yaml.safe_dump({"model": {"kind": "tpnet", "window": 4, "mode": "online", "hidden": [8]},
                                 "sources": ["deepmimic"], "steps": 2, "batch_size": 8, "speeds": [1.0],
                                 "out_dir": str(tmp_path / "tprun")}))
    return p


def _lifter_cfg(tmp_path: Path) -> Path:
    p = tmp_path / "lf.yaml"
    p.write_text(yaml.safe_dump({"sources": ["deepmimic"], "weak_clips": ["deepmimic/roll"], "batch_3d": 8,
                                 "batch_2d": 8, "model": {"hidden": 16, "blocks": 1},
                                 "stages": [{"name": "warm", "steps": 2, "lr": 1e-3}]}))
    return p


def _sapnet_cfg(tmp_path: Path) -> Path:
    p = tmp_path / "sp.yaml"
    p.write_text(yaml.safe_dump({
        "stage": 1, "model": {"preset": "realtime", "channels": 16, "input_size": 64, "num_stacks": 1},
        "data": {"cache_dir": str(tmp_path / "cache"), "renders": {"num_2d": 8, "num_3d": 8, "num_test": 0,
                                                                   "size": 64, "seed": 0},
                 "clips_3d": ["deepmimic/walk"], "clips_2d": ["deepmimic/run"], "clips_test": []},
        "train": {"steps": 2, "batch_size": 2, "threads": 1}}))
    return p


def _cases(tmp_path: Path, evil: Path) -> dict[str, list[str]]:
    pose = _pose_file(tmp_path / "in.npz")
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), np.full((64, 64, 3), 128, np.uint8))
    video = _video(tmp_path / "clip.mp4")
    # checkpoints are found by name in the output folder: plant the bomb there
    (tmp_path / "sprun").mkdir()
    (tmp_path / "sprun" / "last.pt").write_bytes(evil.read_bytes())
    (tmp_path / "tprun").mkdir()
    (tmp_path / "tprun" / "checkpoint.pt").write_bytes(evil.read_bytes())
    (tmp_path / "lfrun").mkdir()
    (tmp_path / "lfrun" / "l.ckpt.pt").write_bytes(evil.read_bytes())
    o = str(tmp_path / "out")
    return {
        "export onnx --weights": ["export", "onnx", "--model", "sapnet", "--weights", str(evil), "--out", o + ".onnx"],
        "bench sapnet --weights": ["bench", "sapnet", "--weights", str(evil), "--repeats", "1"],
        "train sapnet --init": ["train", "sapnet", "--config", str(_sapnet_cfg(tmp_path)), "--init", str(evil),
                                "--out-dir", str(tmp_path / "sp2"), "--device", "cpu"],
        "train sapnet --resume": ["train", "sapnet", "--config", str(_sapnet_cfg(tmp_path)), "--resume",
                                  "--out-dir", str(tmp_path / "sprun"), "--device", "cpu"],
        "train tpnet --resume": ["train", "tpnet", "--config", str(_tpnet_cfg(tmp_path)), "--resume",
                                 "--no-progress"],
        "train lifter --resume": ["train", "lifter", "--config", str(_lifter_cfg(tmp_path)), "--resume",
                                  "--out", str(tmp_path / "lfrun" / "l.pt")],
        "image --lifter": ["image", str(photo), "--out", o, "--lifter", str(evil)],
        "lift --lifter": ["lift", str(pose), "--out", o + ".npz", "--lifter", str(evil)],
        "lift --tpnet": ["lift", str(pose), "--out", o + ".npz", "--tpnet", str(evil)],
        "video --lifter": ["video", str(video), "--out", o + ".npz", "--lifter", str(evil)],
        "video --tpnet": ["video", str(video), "--out", o + ".npz", "--tpnet", str(evil)],
        "refine --model": ["refine", str(pose), "--out", o + ".npz", "--model", str(evil)],
        "analyze sensitivity --model": ["analyze", "sensitivity", "--out", o, "--model", str(evil), "--samples", "1"],
    }


def test_no_option_that_reads_weights_runs_code_from_them(tmp_path, bomb, capsys):
    evil, marker = bomb
    failures = []
    for name, argv in _cases(tmp_path, evil).items():
        code = main(argv)
        err = capsys.readouterr().err.strip()
        if marker.exists():
            failures.append(f"{name}: payload ran")
            marker.unlink()
        elif code != 2 or len(err.splitlines()) != 1 or "evil.pt" not in err and "checkpoint" not in err:
            failures.append(f"{name}: exit {code}, stderr {err[-300:]!r}")
    assert not failures, failures
    assert not (tmp_path / "out.npz").exists() and not (tmp_path / "out.onnx").exists()


def test_sapnet_eval_refuses_the_file_too(tmp_path, bomb, capsys):
    evil, marker = bomb
    assert main(["analyze", "sapnet-eval", str(tmp_path / "o.json"), str(evil)]) == 2
    assert not marker.exists() and len(capsys.readouterr().err.strip().splitlines()) == 1


def test_real_checkpoints_still_load(tmp_path):
    """The safe loader keeps what a checkpoint needs: optimiser state, numpy and torch RNG states."""
    from structpose.io.guards import load_torch
    m = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(m.parameters())
    m(torch.randn(4, 3)).sum().backward()
    opt.step()
    rng = np.random.default_rng(7)
    blob = {"opt": opt.state_dict(), "rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
            "gen": torch.Generator().manual_seed(3).get_state(), "history": [{"step": 1, "loss": 0.5}],
            "best": float("inf")}
    torch.save(blob, tmp_path / "c.pt")
    back = load_torch(tmp_path / "c.pt", "checkpoint")
    r2 = np.random.default_rng()
    r2.bit_generator.state = back["rng"]
    assert r2.random() == np.random.default_rng(7).random()
    assert json.dumps(back["history"]) == json.dumps(blob["history"])
    assert torch.equal(back["opt"]["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])


def test_the_message_tells_code_from_junk(tmp_path, bomb):
    from structpose.errors import StructposeError
    from structpose.io.guards import load_torch
    evil, marker = bomb
    with pytest.raises(StructposeError, match="could run code"):
        load_torch(evil, "weights")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint at all")
    with pytest.raises(StructposeError, match="cannot read weights .*not a torch file"):
        load_torch(junk, "weights")
    assert not marker.exists()
