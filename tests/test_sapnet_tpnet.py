"""SAP-Net + TP-Net the paper's way: SAP-Net's predictions on rendered videos become TP-Net's inputs."""
from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from structpose.cli import main
from structpose.errors import StructposeError
from structpose.models.sapnet import SAPNet, save_weights
from structpose.skeleton import H36M17
from structpose.train.tpnet import PairWindows, TPNetTrainConfig, load_pairs, train


def _bones(poses: np.ndarray) -> np.ndarray:
    p, c = np.array(H36M17.bones).T
    return np.linalg.norm(poses[..., c, :] - poses[..., p, :], axis=-1)


@pytest.fixture(scope="module")
def pairs_file(tmp_path_factory):
    """An untrained tiny SAP-Net on two rendered scenes of every VAL clip (12 frames each)."""
    from structpose.analysis.sapnet_eval import write_pairs
    d = tmp_path_factory.mktemp("pairs")
    net = SAPNet({"name": "tiny", "channels": 16, "input_size": 64, "num_stacks": 1})
    save_weights(d / "w.pt", net, bone_sum=4.0)
    n = write_pairs(d / "pairs.npz", d / "w.pt", "val", None, scenes=2, max_frames=12)
    return d / "pairs.npz", n


def test_pairs_hold_rigid_ground_truth_and_aligned_predictions(pairs_file):
    path, n = pairs_file
    seqs = load_pairs(path)
    assert sum(len(g) for _, g, _ in seqs) == n and len(seqs) % 2 == 0
    names = [s[0] for s in seqs]
    assert len(set(names)) == len(names)                     # clip#scene: every scene is its own sequence
    for _, gt, pred in seqs:
        assert gt.shape == pred.shape and gt.shape[1:] == (17, 3)
        assert np.allclose(gt[:, 0], 0) and np.allclose(pred[:, 0], 0)
        # one body per scene: real mocap keeps its bone lengths (a few mm of source noise, no more)
        b = _bones(gt)
        assert (b.std(0) < 0.01 * b.mean(0) + 0.005).all()
        # predictions are scaled to the weights' total bone length (4 m here), as evaluated
        assert np.allclose(_bones(pred).sum(-1), 4.0, rtol=1e-3)
    # the two scenes of a clip are other views of the same motion, by another body
    (_, g0, _), (_, g1, _) = seqs[0], seqs[1]
    assert not np.allclose(g0, g1, atol=1e-2)
    assert not np.allclose(_bones(g0)[0], _bones(g1)[0], rtol=1e-3)


def test_pair_windows_cut_prediction_and_truth_at_the_same_frames(tmp_path):
    rng = np.random.default_rng(0)
    gt = [rng.normal(size=(t, 17, 3)).astype(np.float32) for t in (9, 30, 4)]
    for g in gt:
        g[:, :, 0] += np.arange(len(g))[:, None]          # x of every joint encodes the frame index
        g -= g[:, :1]
    seqs = [(f"s{i}", g, g + np.float32(i + 1)) for i, g in enumerate(gt)]   # pred = gt + a per-sequence offset
    w = PairWindows(seqs, 5)
    assert len(w.seqs) == 2                                # the 4-frame sequence cannot hold a window
    clean, noisy = w.sample(400, rng)
    assert clean.shape == noisy.shape == (400, 5, 17, 3)
    offs = np.unique(np.round(noisy - clean, 5))
    assert set(offs) <= {1.0, 2.0}                          # each window pairs a prediction with its own truth
    # both long sequences are drawn, in proportion to their number of windows (5 vs 26)
    frac = (np.round(noisy - clean, 5)[:, 0, 0, 0] == 1.0).mean()
    assert 0.08 < frac < 0.3


def test_tpnet_trained_on_pairs_removes_a_systematic_prediction_error(tmp_path):
    """A fake estimator with a fixed bias (right wrist 8 cm too deep, left knee 6 cm to the side) on real
    mocap: TP-Net trained only on its pairs must learn to undo it on held-out clips."""
    from structpose.data.sources import load_clips
    from structpose.data.splits import split_clips
    from structpose.models.windows import MODEL_FPS
    from structpose.pipeline.refiner import refine_sequence
    bias = np.zeros((17, 3), np.float32)
    bias[16, 2], bias[5, 0] = 0.08, 0.06

    def pairs(split: str) -> dict[str, np.ndarray]:
        clips = split_clips(load_clips(["deepmimic"], fps=MODEL_FPS))[split]
        out = {"names": np.array([c.name for c in clips]), "fps": np.array(MODEL_FPS)}
        for i, c in enumerate(clips):
            g = c.in_camera().astype(np.float32)
            g -= g[:, :1]
            out[f"gt_{i}"], out[f"pred_{i}"] = g, g + bias
        return out

    for split in ("train", "val"):
        np.savez(tmp_path / f"{split}.npz", **pairs(split))
    cfg_path = tmp_path / "c.yaml"
    cfg_path.write_text(yaml.safe_dump({
        "model": {"kind": "tpnet", "window": 4, "mode": "online", "hidden": [64]}, "steps": 300, "batch_size": 64,
        "lr": 3e-3, "speeds": [1.0], "sources": ["deepmimic"], "pairs": str(tmp_path / "train.npz"),
        "pairs_fraction": 1.0, "pairs_val": str(tmp_path / "val.npz"), "val_every": 100, "checkpoint_every": 300,
        "out_dir": str(tmp_path / "run")}))
    s = train(TPNetTrainConfig.from_yaml(cfg_path), progress=False)
    assert s["history"][-1]["val_input_mm"] == pytest.approx(1000 * np.linalg.norm(bias, axis=-1).mean(), rel=1e-3)
    from structpose.models.tpnet import load_model
    m = load_model(tmp_path / "run" / "best.pt")
    test = pairs("test")
    err_in = err_out = 0.0
    for i in range(len(test["names"])):
        g, p = test[f"gt_{i}"], test[f"pred_{i}"]
        r = refine_sequence(p + np.array([0, 0, 5.0], np.float32), MODEL_FPS, mode="online", model=m)
        err_in += np.linalg.norm(p - g, axis=-1).mean()
        err_out += np.linalg.norm((r - r[:, :1]) - g, axis=-1).mean()
    assert err_out < 0.5 * err_in


def test_pairs_config_errors_are_one_line(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"pairs_fraction": 0.5}))
    with pytest.raises(StructposeError, match="needs 'pairs'"):
        TPNetTrainConfig.from_yaml(cfg)
    cfg.write_text(yaml.safe_dump({"pairs": str(tmp_path / "nope.npz"), "pairs_fraction": 0.5}))
    with pytest.raises(StructposeError, match="not found"):
        TPNetTrainConfig.from_yaml(cfg)
    bad = tmp_path / "bad.npz"
    np.savez(bad, x=np.zeros(3))
    with pytest.raises(StructposeError, match="not a pairs file"):
        load_pairs(bad)
    np.savez(bad, names=np.array(["a"]), fps=np.array(60.0), gt_0=np.zeros((5, 17, 3)), pred_0=np.zeros((5, 17, 3)))
    with pytest.raises(StructposeError, match="fps"):
        load_pairs(bad)


def test_train_sapnet_seed_and_init_overrides(tmp_path, capsys):
    from sapnet_builders import tiny_config
    cfg = tiny_config(tmp_path, steps=2)
    out = tmp_path / "run"
    assert main(["train", "sapnet", "--config", str(cfg), "--out-dir", str(out), "--seed", "5"]) == 0
    assert json.loads((out / "config.json").read_text())["train"]["seed"] == 5
    capsys.readouterr()
    assert main(["train", "sapnet", "--config", str(cfg), "--init", str(tmp_path / "missing.pt")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "missing.pt" in err


def test_eval_scores_extra_refiners_and_refuses_bad_ones(pairs_file, tmp_path, capsys):
    from structpose.models.tpnet import build_model, save_model
    weights = pairs_file[0].parent / "w.pt"
    ident = build_model({"kind": "tpnet", "window": 4, "mode": "online", "hidden": [8]})   # untrained: identity
    save_model(ident, tmp_path / "ident.pt")
    out = tmp_path / "e.json"
    assert main(["analyze", "sapnet-eval", str(out), str(weights), "--split", "val", "--frames", "6",
                      "--tpnet", f"mine={tmp_path / 'ident.pt'}"]) == 0
    row = json.loads(out.read_text())["rows"][0]
    # an untrained residual TP-Net returns its input: the refined score equals SAP-Net's own
    assert row["sapnet+tpnet_mine"]["mpjpe_mm"] == pytest.approx(row["sapnet"]["mpjpe_mm"], rel=1e-4)
    assert 0 <= row["illegal_pct"]["ground_truth"] <= 100
    capsys.readouterr()
    assert main(["analyze", "sapnet-eval", str(out), str(weights), "--tpnet", "nolabel"]) == 2
    assert "LABEL=PATH" in capsys.readouterr().err


def test_bad_pairs_files_and_seeds_are_one_line(tmp_path, capsys):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not an npz")
    with pytest.raises(StructposeError, match="cannot read"):
        load_pairs(junk)
    g = np.zeros((6, 17, 3), np.float32)
    p = g.copy()
    p[3, 5, 2] = np.nan
    nan = tmp_path / "nan.npz"
    np.savez(nan, names=np.array(["a"]), fps=np.array(30.0), gt_0=g, pred_0=p)
    with pytest.raises(StructposeError, match="NaN"):
        load_pairs(nan)
    from sapnet_builders import tiny_config
    cfg = tiny_config(tmp_path, steps=1)
    assert main(["train", "sapnet", "--config", str(cfg), "--out-dir", str(tmp_path / "r"), "--seed", "-1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and ">= 0" in err
    assert not (tmp_path / "r" / "weights.pt").exists()


@pytest.mark.parametrize("args", [["--frames", "0"], ["--scenes", "0"]])
def test_pairs_refuses_empty_requests(tmp_path, capsys, args):
    with pytest.raises(SystemExit) as e:
        main(["data", "pairs", str(tmp_path / "p.npz"), str(tmp_path / "w.pt"), *args])
    assert e.value.code == 2 and ">= 1" in capsys.readouterr().err
    assert not (tmp_path / "p.npz").exists()
