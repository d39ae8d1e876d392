"""TP-Net training: exact resume after SIGKILL (mid-epoch and across epochs), a batch larger than the data,
and every config field checked in one line."""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from structpose.errors import StructposeError
from structpose.train.tpnet import TPNetTrainConfig, train

# deepmimic's TRAIN clips give 748 five-frame windows at speed 1: 128 per batch -> 5 batches per epoch,
# so a 14-step run crosses two epoch boundaries and a kill lands mid-epoch most of the time
TINY = {"model": {"kind": "tpnet", "window": 4, "mode": "online", "hidden": [16]}, "sources": ["deepmimic"],
        "steps": 14, "batch_size": 128, "speeds": [1.0], "checkpoint_every": 1, "val_every": 1000, "lr": 3e-3,
        "max_minutes": 30.0}


def _config(tmp_path: Path, name: str, **over) -> Path:
    p = tmp_path / f"{name}.yaml"
    p.write_text(yaml.safe_dump({**TINY, "out_dir": str(tmp_path / name), **over}))
    return p


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "structpose", *args], env=_env(), capture_output=True, text=True,
                          timeout=300, check=False)


def _state(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "checkpoint.pt", weights_only=True)["model"]


def test_kill_and_resume_gives_the_weights_of_an_uninterrupted_run(tmp_path):
    train(TPNetTrainConfig.from_yaml(_config(tmp_path, "ref")), progress=False)
    cfg = _config(tmp_path, "crash")
    out = tmp_path / "crash"
    cmd = [sys.executable, "-m", "structpose", "train", "tpnet", "--config", str(cfg), "--no-progress"]
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t_end = time.time() + 120
    while not (out / "checkpoint.pt").exists() and proc.poll() is None and time.time() < t_end:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)                     # no clean-up, no final checkpoint
    proc.wait()
    killed = torch.load(out / "checkpoint.pt", weights_only=True)
    assert 0 < killed["step"] < TINY["steps"], "the run must be killed part-way"
    r = _cli("train", "tpnet", "--config", str(cfg), "--no-progress", "--resume")
    assert r.returncode == 0, r.stderr[-2000:]
    a, b = _state(tmp_path / "ref"), _state(out)
    assert torch.load(out / "checkpoint.pt", weights_only=True)["step"] == TINY["steps"]
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_resume_from_every_position_replays_the_same_batches(tmp_path, monkeypatch):
    """Checkpoints after steps 3 (mid-epoch), 5 (an epoch's last batch) and 7 (just after): each resumed
    to the end gives exactly the weights of the run that never stopped."""
    import structpose.train.tpnet as mod
    from structpose.io.atomic import atomic_path

    @contextlib.contextmanager
    def keep_copies(path):
        with atomic_path(path) as tmp:
            yield tmp
        path = Path(path)
        if path.name == "checkpoint.pt":
            shutil.copy(path, path.parent / f"ck{torch.load(path, weights_only=True)['step']}.pt")

    monkeypatch.setattr(mod, "atomic_path", keep_copies)
    train(TPNetTrainConfig.from_yaml(_config(tmp_path, "ref", steps=8)), progress=False)
    ref = _state(tmp_path / "ref")
    for stop_at in (3, 5, 7):
        run = tmp_path / f"from{stop_at}"
        run.mkdir()
        shutil.copy(tmp_path / "ref" / f"ck{stop_at}.pt", run / "checkpoint.pt")
        train(TPNetTrainConfig.from_yaml(_config(tmp_path, f"from{stop_at}", steps=8)), resume=True,
              progress=False)
        got = _state(run)
        assert all(torch.equal(ref[k], got[k]) for k in ref), f"resumed after step {stop_at}"
    # and the check can fail: a checkpoint that claims the next epoch (the old behaviour) does not match
    blob = torch.load(tmp_path / "ref" / "ck3.pt", weights_only=True)
    blob["epoch"], blob["batch_in_epoch"] = blob["epoch"] + 1, 0
    run = tmp_path / "skip"
    run.mkdir()
    torch.save(blob, run / "checkpoint.pt")
    train(TPNetTrainConfig.from_yaml(_config(tmp_path, "skip", steps=8)), resume=True, progress=False)
    got = _state(run)
    assert not all(torch.equal(ref[k], got[k]) for k in ref)


def test_batch_larger_than_the_data_is_one_line_not_an_endless_loop(tmp_path):
    r = _cli("train", "tpnet", "--config", str(_config(tmp_path, "big", batch_size=100000)), "--no-progress")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "batch_size 100000" in lines[0] and "748" in lines[0], r.stderr


BAD = [("steps", "ten"), ("steps", -3), ("steps", 0), ("lr", float("nan")), ("lr", "fast"), ("batch_size", 0),
       ("batch_size", 2.5), ("speeds", []), ("speeds", [0.0]), ("checkpoint_every", 0), ("val_every", -1),
       ("seed", -1), ("threads", True), ("pitch_deg", 1e9), ("error_scale", [2.0, 1.0]), ("error_scale", 3),
       ("lifter_fraction", 1.5), ("max_minutes", 0), ("sources", "deepmimic"), ("clip_repeat", {"deepmimic": 0}),
       ("model", {"kind": "tpnet", "window": 0}), ("model", {"kind": "tpnet", "hidden": "wide"}),
       ("error_model", {"jitter": "big"}), ("out_dir", 5)]


@pytest.mark.parametrize("key,value", BAD, ids=[f"{k}={v!r}" for k, v in BAD])
def test_every_bad_field_is_refused_naming_its_key(tmp_path, key, value):
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump({**TINY, key: value}))
    with pytest.raises(StructposeError) as e:
        TPNetTrainConfig.from_yaml(p)
    msg = str(e.value)
    assert key in msg and "\n" not in msg


@pytest.mark.parametrize("text", ["", "# nothing\n", "{}\n", "[1, 2]\n", "steps: [\n"])
def test_empty_or_malformed_config_files_are_refused(tmp_path, text):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    with pytest.raises(StructposeError) as e:
        TPNetTrainConfig.from_yaml(p)
    assert "\n" not in str(e.value)


def test_command_line_overrides_are_checked_too(tmp_path):
    r = _cli("train", "tpnet", "--config", str(_config(tmp_path, "c")), "--steps", "-3", "--no-progress")
    assert r.returncode == 2 and "steps" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "c" / "checkpoint.pt").exists()


def test_batch_order_is_the_one_the_data_loader_gave():
    """The explicit order keeps earlier runs reproducible: same windows per batch as DataLoader(shuffle=True)."""
    from torch.utils.data import DataLoader

    from structpose.train.tpnet import epoch_order
    n, bs, seed = 748, 128, 7
    for epoch in (0, 3):
        dl = DataLoader(list(range(n)), batch_size=bs, shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(seed * 100003 + epoch))
        order = epoch_order(n, seed, epoch)
        for b, batch in enumerate(dl):
            assert torch.equal(batch, order[b * bs:(b + 1) * bs])
