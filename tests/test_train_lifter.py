"""Lifter training: exact resume after SIGKILL and from every kind of position, config checks, and outputs
that would overwrite the config or each other."""
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
from structpose.train.lifter import LifterTrainConfig, checkpoint_path, train

TINY = {"seed": 0, "sources": ["deepmimic"], "weak_clips": ["deepmimic/roll"], "batch_3d": 16, "batch_2d": 16,
        "model": {"hidden": 32, "blocks": 1, "dropout": 0.1}, "checkpoint_every": 1,
        "stages": [{"name": "warm", "steps": 40, "lr": 1e-3},
                   {"name": "sa", "steps": 30, "lr": 2.5e-4, "lambda_g": 0.03, "lambda_a": 0.03, "lambda_s": 0.05}]}


def _config(tmp_path: Path, **over) -> Path:
    p = tmp_path / "tiny.yaml"
    p.write_text(yaml.safe_dump({**TINY, **over}))
    return p


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "structpose", "train", "lifter", *args], env=_env(),
                          capture_output=True, text=True, timeout=300, check=False)


def _weights(p: Path) -> dict[str, torch.Tensor]:
    return torch.load(p, weights_only=True)["state_dict"]


def test_kill_and_resume_gives_the_weights_of_an_uninterrupted_run(tmp_path, deepmimic_clips):
    cfg = _config(tmp_path)
    train(LifterTrainConfig.from_yaml(cfg), tmp_path / "ref.pt", log=lambda s: None, clips=deepmimic_clips)
    out = tmp_path / "crash.pt"
    proc = subprocess.Popen([sys.executable, "-m", "structpose", "train", "lifter", "--config", str(cfg),
                             "--out", str(out)], env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t_end = time.time() + 120
    while not checkpoint_path(out).exists() and proc.poll() is None and time.time() < t_end:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed = torch.load(checkpoint_path(out), weights_only=True)
    assert (killed["stage"], killed["step"]) < (2, 0), "the run must be killed part-way"
    assert not out.exists()
    r = _cli("--config", str(cfg), "--out", str(out), "--resume")
    assert r.returncode == 0, r.stderr[-2000:]
    a, b = _weights(tmp_path / "ref.pt"), _weights(out)
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_resume_mid_stage_at_a_stage_boundary_and_in_the_last_stage(tmp_path, monkeypatch, deepmimic_clips):
    from structpose.io import atomic
    real = atomic.atomic_path

    @contextlib.contextmanager
    def keep_copies(path):
        with real(path) as tmp:
            yield tmp
        path = Path(path)
        if path.name.endswith(".ckpt.pt"):
            b = torch.load(path, weights_only=True)
            shutil.copy(path, path.parent / f"ck_{b['stage']}_{b['step']}.pt")

    monkeypatch.setattr(atomic, "atomic_path", keep_copies)
    cfg = LifterTrainConfig.from_yaml(_config(tmp_path, stages=[{"name": "warm", "steps": 6, "lr": 1e-3},
                                                                {"name": "sa", "steps": 5, "lr": 2.5e-4,
                                                                 "lambda_g": 0.03, "lambda_s": 0.05}]))
    ref_dir = tmp_path / "ref"
    ref_dir.mkdir()
    train(cfg, ref_dir / "l.pt", log=lambda s: None, clips=deepmimic_clips)
    ref = _weights(ref_dir / "l.pt")
    for stage, step in ((0, 3), (1, 0), (1, 2)):
        run = tmp_path / f"r{stage}{step}"
        run.mkdir()
        shutil.copy(ref_dir / f"ck_{stage}_{step}.pt", checkpoint_path(run / "l.pt"))
        train(cfg, run / "l.pt", log=lambda s: None, clips=deepmimic_clips, resume=True)
        got = _weights(run / "l.pt")
        assert all(torch.equal(ref[k], got[k]) for k in ref), (stage, step)
    # the comparison can fail: a different seed's checkpoint is refused, another step gives other weights
    other = LifterTrainConfig.from_yaml(_config(tmp_path, seed=1))
    with pytest.raises(StructposeError, match="--resume"):
        train(other, run / "l.pt", log=lambda s: None, clips=deepmimic_clips, resume=True)


BAD = [("seed", -1), ("batch_3d", 0), ("batch_2d", "many"), ("model", {"hidden": "wide"}),
       ("model", {"dropout": 1.0}), ("model", {"width": 3}), ("distance", [9.0, 2.5]), ("focal_px", [0, 100]),
       ("drop_prob", 1.5), ("flip", "yes"), ("checkpoint_every", 0), ("sources", []),
       ("stages", []), ("stages", [{"name": "w", "steps": -3, "lr": 1e-3}]),
       ("stages", [{"name": "w", "steps": 5, "lr": float("nan")}]),
       ("stages", [{"name": "w", "steps": "ten", "lr": 1e-3}]),
       ("stages", [{"name": "w", "steps": 5, "lr": 1e-3, "lambda_s": -1}])]


@pytest.mark.parametrize("key,value", BAD, ids=[f"{k}={v!r}" for k, v in BAD])
def test_every_bad_field_is_refused_naming_its_key(tmp_path, key, value):
    with pytest.raises(StructposeError) as e:
        LifterTrainConfig.from_yaml(_config(tmp_path, **{key: value}))
    assert key in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("text", ["", "{}\n", "- 1\n", "seed: [\n"])
def test_empty_or_malformed_config_files_are_refused(tmp_path, text):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    with pytest.raises(StructposeError) as e:
        LifterTrainConfig.from_yaml(p)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("out", ["tiny.yaml", "model.yaml", "model.json", "tiny.pt"])
def test_outputs_never_overwrite_the_config_or_each_other(tmp_path, out):
    cfg = _config(tmp_path)
    before = cfg.read_text()
    r = _cli("--config", str(cfg), "--out", str(tmp_path / out))
    # tiny.pt would write its config copy over tiny.yaml, the config itself
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "--out" in r.stderr
    assert cfg.read_text() == before and not (tmp_path / "model.yaml").exists()


def test_steps_scale_must_be_positive(tmp_path):
    r = _cli("--config", str(_config(tmp_path)), "--out", str(tmp_path / "x.pt"), "--steps-scale", "nan")
    assert r.returncode == 2 and "--steps-scale" in r.stderr
