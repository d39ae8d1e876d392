"""SAP-Net training: 2-process DDP (gloo) through torchrun, exact resume after a kill, stage losses."""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from sapnet_builders import TINY, tiny_config

from structpose.errors import StructposeError
from structpose.models.sapnet import load_weights
from structpose.train.sapnet import compute_losses, model_config, train


def _free_port() -> int:
    """A port nobody listens on now (a fixed one collides with other test runs on the same machine)."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def _log(out: Path) -> list[dict[str, float]]:
    with open(out / "log.csv") as fh:
        return [{k: float(v) for k, v in r.items()} for r in csv.DictReader(fh)]


def test_two_process_ddp_ranks_agree_and_loss_falls(tmp_path):
    # a fixed global batch (4 + 4 samples, no augmentation) that the two ranks split between them:
    # the loss must fall step after step if the averaged gradients are right
    cfg = tiny_config(tmp_path, {"renders": {**TINY["data"]["renders"], "num_2d": 4, "num_3d": 4}, "augment": False},
                  steps=16, log_every=1, optimizer="adam", lr=3e-3, weights={"heatmap": 1.0, "depth": 1.0})
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={_free_port()}",
           "-m", "structpose", "train", "sapnet", "--config", str(cfg), "--out-dir", str(out), "--device", "cpu"]
    r = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=240, check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["world_size"] == 2
    assert summary["rank_param_max_diff"] == 0.0          # both replicas hold identical weights
    total = [row["total"] for row in _log(out)]
    assert len(total) == 16 and sum(total[-3:]) < 0.8 * sum(total[:3])


def test_exact_resume_after_kill(tmp_path):
    cfg = tiny_config(tmp_path, steps=16, checkpoint_every=3, log_every=2)
    # the reference runs in this process with the thread count the command runs get (OMP_NUM_THREADS=1):
    # a different count changes the order of float reductions, and bit-exactness is what is tested
    torch.set_num_threads(1)
    ref = train(yaml.safe_load(cfg.read_text()), tmp_path / "ref")
    out = tmp_path / "crash"
    cmd = [sys.executable, "-m", "structpose", "train", "sapnet", "--config", str(cfg), "--out-dir", str(out),
           "--device", "cpu"]
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    t_end = time.time() + 120
    while not (out / "last.pt").exists() and proc.poll() is None and time.time() < t_end:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)              # crash mid-stage, no clean-up
    proc.wait()
    killed_at = torch.load(out / "last.pt", weights_only=True)["step"]
    assert 0 < killed_at < 16, "the run must be killed mid-stage"
    assert not (out / "weights.pt").exists()
    r = subprocess.run(cmd + ["--resume"], env=_env(), capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    a, _, _ = load_weights(tmp_path / "ref" / "weights.pt")
    b, _, _ = load_weights(out / "weights.pt")
    for (k, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(x, y), k
    # and the same metrics, step by step, as the uninterrupted run
    assert [r_["total"] for r_ in _log(out)] == pytest.approx([h["total"] for h in ref["losses"]], rel=0, abs=0)


def test_resume_refuses_checkpoint_of_another_model(tmp_path):
    cfg = yaml.safe_load(tiny_config(tmp_path, steps=5).read_text())
    train(cfg, tmp_path / "run")
    cfg["model"]["channels"] = 32
    with pytest.raises(StructposeError, match="--out"):
        train(cfg, tmp_path / "run", resume=True)


def test_2d_only_samples_never_feed_the_depth_loss(tmp_path):
    from structpose.train.sapnet_data import build_datasets
    cfg = yaml.safe_load(tiny_config(tmp_path).read_text())
    data = build_datasets(cfg, 64, 0)
    net = __import__("structpose.models.sapnet", fromlist=["SAPNet"]).SAPNet(model_config(cfg))
    net.eval()
    items = [data["2d"][0], data["2d"][1], data["3d"][0], data["3d"][1]]
    batch = {k: torch.stack([it[k] for it in items]) for k in items[0]}
    w = {"heatmap": 1.0, "depth": 1.0}
    canon = torch.as_tensor(data["canonical"], dtype=torch.float32)
    base = compute_losses(net, batch, w, canon)
    batch["z"][:2] = 123.0                        # garbage depth on the 2D-only half
    again = compute_losses(net, batch, w, canon)
    assert torch.equal(base["depth"], again["depth"])
    assert float(base["structure"].detach()) == 0.0
    # with the structure weights on, the 2D half contributes a finite, non-zero term
    sa = compute_losses(net, batch, {**w, "lambda_g": 0.03, "lambda_a": 0.03, "lambda_s": 0.05}, canon)
    assert torch.isfinite(sa["structure"]) and float(sa["structure"].detach()) > 0


def test_cli_bad_config_is_one_line(tmp_path, capsys):
    from structpose.cli import main
    bad = tmp_path / "bad.yaml"
    bad.write_text("just a string")
    assert main(["train", "sapnet", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "'train' section" in err


def test_photo_dataset_config_trains(tmp_path, deepmimic_camera_poses):
    """The paper-scale path: annotation files (mmpose H36M npz as 3D, MPII JSON as 2D-only) -> a stage."""
    import cv2
    import numpy as np

    from structpose.skeleton import convert
    cam = deepmimic_camera_poses[[10, 200, 400]].astype(np.float64) + np.array([0.0, 0.0, 4.0])
    uv = cam[..., :2] / cam[..., 2:] * 1145.0 + np.array([256.0, 256.0])
    root = tmp_path / "img"
    root.mkdir()
    names = [f"S1_Walk.54138969_{i:06d}.jpg" for i in range(3)]
    for n, p in zip(names, uv):
        im = np.full((512, 512, 3), 60, np.uint8)
        for u, v in p:
            cv2.circle(im, (int(u), int(v)), 3, (255, 200, 0), -1)
        cv2.imwrite(str(root / n), im)
    np.savez(tmp_path / "h36m_train.npz", imgname=np.array(names), center=uv.mean(1),
             scale=np.ptp(uv, 1).max(-1) * 1.2 / 200, part=np.concatenate([uv, np.ones((3, 17, 1))], -1),
             S=np.concatenate([cam, np.ones((3, 17, 1))], -1))
    mpii = convert(uv.astype(np.float32), "h36m17", "mpii16")
    (tmp_path / "train.json").write_text(json.dumps([
        {"image": n, "joints": (j + 1).tolist(), "joints_vis": [1] * 16, "center": (c + 1).tolist(), "scale": s}
        for n, j, c, s in zip(names, mpii, uv.mean(1), np.ptp(uv, 1).max(-1) / 200)]))
    cfg = {"stage": 4, "model": TINY["model"],
           "data": {"datasets": {"2d": [{"annotations": str(tmp_path / "train.json"), "images": str(root)}],
                                 "3d": [{"annotations": str(tmp_path / "h36m_train.npz"), "images": str(root)}]}},
           "train": {**TINY["train"], "steps": 3, "log_every": 1}}
    res = train(cfg, tmp_path / "run")
    assert res["step"] == 3 and all(np.isfinite(r["total"]) for r in res["losses"])
    assert (tmp_path / "run" / "weights.pt").is_file() and "eval" not in res


def test_lambda_unit_heatmap_px_equals_the_paper_loss_in_heatmap_pixels(deepmimic_camera_poses):
    """The paper's objective written in heatmap pixels (depth, xy and canonical lengths all x H), divided by
    H^2, must equal our crop-unit objective with the effective weights: Lg and La are scale-free, the depth
    loss and Ls scale with H^2."""
    from structpose.losses import depth_l2_loss, structure_aware_loss
    from structpose.train.sapnet import effective_weights
    H = 32
    poses = torch.as_tensor(deepmimic_camera_poses[:12], dtype=torch.float64)
    poses = (poses - poses[:, :1]) / 4.0                              # crop-ish units
    gt_z = poses[..., 2]
    pred_z = gt_z + 0.05 * torch.randn(gt_z.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    xy = poses[..., :2]
    from structpose.skeleton import H36M17
    p, c = torch.tensor(H36M17.bones).T
    canon = (poses[:, c] - poses[:, p]).norm(dim=-1).mean(0)
    paper = {"lambda_g": 0.03, "lambda_a": 0.03, "lambda_s": 0.05}
    ours = effective_weights({"depth": 1.0, **paper}, "heatmap_px", H)
    px = (depth_l2_loss(H * pred_z, H * gt_z)
          + structure_aware_loss((H * pred_z)[..., None], gt_xy=H * xy, canonical_lengths=H * canon, **paper))
    crop = (depth_l2_loss(pred_z, gt_z)
            + structure_aware_loss(pred_z[..., None], gt_xy=xy, canonical_lengths=canon,
                                   **{k: ours[k] for k in paper}))
    assert float(px / H ** 2) == pytest.approx(float(crop), rel=1e-9)
    assert effective_weights(paper, "crop", H) == paper
    with pytest.raises(StructposeError, match="lambda_unit"):
        effective_weights(paper, "metres", H)


def test_reinvoking_a_finished_run_changes_nothing_and_keeps_its_summary(tmp_path):
    cfg = yaml.safe_load(tiny_config(tmp_path, steps=4, log_every=2).read_text())
    first = train(cfg, tmp_path / "run")
    before = json.loads((tmp_path / "run" / "summary.json").read_text())
    w0, _, _ = load_weights(tmp_path / "run" / "weights.pt")
    again = train(cfg, tmp_path / "run", resume=True)       # e.g. `--resume --export` on a finished stage
    assert again["step"] == 4 and again["losses"] == []
    after = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert after["final"]["step"] == 4 and after["final"]["total"] == pytest.approx(first["losses"][-1]["total"])
    assert after["effective_weights"] == before["effective_weights"]
    w1, _, _ = load_weights(tmp_path / "run" / "weights.pt")
    assert all(torch.equal(a, b) for a, b in zip(w0.state_dict().values(), w1.state_dict().values()))


@pytest.mark.parametrize("train, key", [({"steps": 0}, "train.steps"), ({"lr": "fast"}, "train.lr"),
                                        ({"batch_size": 3}, "train.batch_size"), ({"optimizer": "lbfgs"}, "train.optimizer"),
                                        ({"weights": {"heatmap": -1}}, "train.weights.heatmap"),
                                        ({"tensorboard": "yes"}, "train.tensorboard"), ({"stepz": 5}, "stepz"),
                                        ({"seed": -1}, "train.seed")])
def test_sapnet_train_config_names_the_bad_key(train, key):
    from structpose.train.sapnet import SAPNetTrainConfig
    with pytest.raises(StructposeError, match=key.replace(".", r"\.")) as e:
        SAPNetTrainConfig.from_dict({**TINY["train"], **train})
    assert "\n" not in str(e.value)
    ok = SAPNetTrainConfig.from_dict(TINY["train"])
    assert ok.steps == TINY["train"]["steps"] and ok.lr == TINY["train"]["lr"]
