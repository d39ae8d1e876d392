"""TP-Net, its windows, the recurrent baselines, model files, training and the shipped weights."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import yaml

from structpose.data.datasets import window_indices
from structpose.data.error_model import ErrorModel
from structpose.errors import StructposeError
from structpose.models import TemporalRNN, TPNet, load_model, pretrained, save_model
from structpose.models.windows import lookahead, reference_index, sample_windows, window_offsets
from structpose.pipeline.refiner import OnlineRefiner, refine_sequence


@pytest.mark.parametrize("mode", ["online", "bidirectional"])
@pytest.mark.parametrize("n", [1, 4, 10, 20])
def test_windows_agree_with_the_dataset_convention(mode, n):
    # the data layer's window_indices is an independent statement of the same convention
    T = 30
    offs = window_offsets(n, mode)
    poses = np.random.default_rng(0).normal(size=(T, 17, 3))
    times = np.arange(T) / 30.0
    for t in (0, 3, 15, T - 1):
        idx, target = window_indices(t, T, n, mode)
        assert target == reference_index(n, mode) and offs[target] == 0
        got = sample_windows(poses, times, np.array([times[t]]), offs)[0]
        np.testing.assert_allclose(got, poses[idx], atol=1e-9)
    assert lookahead(n, mode) == offs[-1]


def test_windows_at_60fps_read_every_other_frame_and_one_frame_repeats():
    poses = np.random.default_rng(1).normal(size=(61, 17, 3))
    times = np.arange(61) / 60.0
    w = sample_windows(poses, times, times[[60]], window_offsets(20, "online"))[0]
    np.testing.assert_allclose(w, poses[22:61:2], atol=1e-9)
    one = sample_windows(poses[:1], times[:1], times[:1], window_offsets(20, "online"))[0]
    np.testing.assert_allclose(one, np.repeat(poses[:1], 20, 0))


@pytest.mark.parametrize("model", [TPNet(window=6, hidden=(32,)), TPNet(window=6, mode="bidirectional", hidden=(32,)),
                                   TemporalRNN(window=6, hidden=16),
                                   TemporalRNN(window=6, mode="bidirectional", hidden=16)])
def test_untrained_residual_models_are_the_identity_and_root_relative(model):
    win = torch.randn(2, 3, 6, 17, 3) * 0.3
    out = model(win)
    ref = win[..., model.ref, :, :] - win[..., model.ref, :1, :]
    torch.testing.assert_close(out, ref)
    torch.testing.assert_close(model(win + torch.tensor([1.0, -2.0, 3.0])), out, atol=1e-5, rtol=0)


def test_raw_representation_and_two_hidden_layers_run():
    m = TPNet(window=4, hidden=(16, 16), representation="raw")
    assert m(torch.randn(5, 4, 17, 3)).shape == (5, 17, 3)
    with pytest.raises(StructposeError):
        TPNet(mode="sideways")


def test_online_output_never_depends_on_the_future_and_bidirectional_only_within_its_lag():
    rng = np.random.default_rng(2)
    poses = rng.normal(0, 0.2, (40, 17, 3))
    for mode in ("online", "bidirectional"):
        torch.manual_seed(0)
        m = TPNet(window=8, mode=mode, hidden=(32,))
        torch.nn.init.normal_(m.net[-1].weight, std=0.01)
        a = refine_sequence(poses, 30.0, mode=mode, model=m)
        changed = poses.copy()
        changed[20 + m.lag + 1:] += 0.5
        b = refine_sequence(changed, 30.0, mode=mode, model=m)
        np.testing.assert_allclose(a[:21], b[:21], atol=1e-6)
        assert not np.allclose(a[21 + m.lag:], b[21 + m.lag:])


def test_streaming_equals_offline_online_refinement_with_missing_frames():
    rng = np.random.default_rng(3)
    poses = np.cumsum(rng.normal(0, 0.01, (50, 17, 3)), 0)
    poses[10:13] = np.nan                   # short gap: bridged
    poses[20, 5] = np.nan                   # one missing joint
    poses[30:48] = np.nan                   # 0.6 s: the sequence restarts after it
    torch.manual_seed(0)
    m = TPNet(window=8, hidden=(32,))
    torch.nn.init.normal_(m.net[-1].weight, std=0.01)
    off = refine_sequence(poses, 30.0, model=m)
    r = OnlineRefiner(m, fps=30.0)
    on = np.stack([r.push(p) for p in poses])
    np.testing.assert_allclose(on, off, atol=1e-5, equal_nan=True)
    assert np.isfinite(off[:30]).all() and np.isnan(off[46:48]).all() and np.isfinite(off[48:]).all()


def test_model_files_round_trip_in_float16(tmp_path):
    m = TPNet(window=6, hidden=(64,))
    torch.nn.init.normal_(m.net[-1].weight, std=0.01)
    p = save_model(m, tmp_path / "m.pt", half=True)
    back = load_model(p)
    assert back.config == m.config
    w = torch.randn(4, 6, 17, 3) * 0.3
    torch.testing.assert_close(back(w), m(w), atol=2e-3, rtol=0)
    with pytest.raises(StructposeError):
        load_model(tmp_path / "nope.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(StructposeError):
        load_model(tmp_path / "junk.pt")


@pytest.mark.parametrize("model", [{"kind": "tpnet", "window": 4, "mode": "online", "hidden": [16]},
                                   {"kind": "lstm", "window": 4, "mode": "bidirectional", "hidden": 8}])
def test_training_writes_config_checkpoint_and_resumes(tmp_path, model):
    from structpose.train.tpnet import TPNetTrainConfig, train
    cfg_path = tmp_path / "c.yaml"
    cfg_path.write_text(yaml.safe_dump({
        "model": model, "steps": 3,
        "batch_size": 8, "speeds": [1.0], "checkpoint_every": 2, "val_every": 2, "out_dir": str(tmp_path / "run"),
        "sources": ["deepmimic"]}))
    cfg = TPNetTrainConfig.from_yaml(cfg_path)
    s = train(cfg, progress=False)
    assert s["steps"] == 3
    run = tmp_path / "run"
    assert yaml.safe_load((run / "config.yaml").read_text())["model"]["window"] == 4
    assert (run / "checkpoint.pt").is_file() and (run / "best.pt").is_file()
    cfg.steps = 5
    s2 = train(cfg, resume=True, progress=False)
    assert s2["steps"] == 5 and len(s2["history"]) > len(s["history"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("stepz: 3\n")
    with pytest.raises(StructposeError):
        TPNetTrainConfig.from_yaml(bad)


@pytest.mark.parametrize("mode", ["online", "bidirectional"])
def test_shipped_weights_improve_held_out_real_motion(mode):
    from structpose.data.sources import load_clips
    from structpose.data.splits import split_clips
    m = pretrained(mode)
    from pathlib import Path
    cfg = yaml.safe_load((Path(__file__).resolve().parent.parent / "configs" / f"tpnet_{mode}.yaml").read_text())
    assert m.config == {**m.config, **cfg["model"]}        # the shipped file is what its config trains
    test = split_clips(load_clips(fps=30.0))["test"]
    e_in, e_out = [], []
    for k, c in enumerate(test):
        clean = c.in_camera().astype(np.float64)
        clean -= clean[:, :1]
        noisy = ErrorModel().apply(clean, 30.0, 100 + k)
        out = refine_sequence(noisy, 30.0, mode=mode, model=m)
        e_in.append(np.linalg.norm(noisy - clean, axis=-1).mean(-1))
        e_out.append(np.linalg.norm(out - clean, axis=-1).mean(-1))
    # pooled over every TEST clip (fast DeepMimic acrobatics included; see the benchmark per clip)
    assert np.concatenate(e_out).mean() < 0.95 * np.concatenate(e_in).mean()


def test_sensitivity_of_the_identity_model_is_the_identity_at_t0_and_zero_elsewhere():
    from structpose.analysis.sensitivity import sensitivity
    m = TPNet(window=5, hidden=(8,))                       # untrained residual model = identity on frame t=0
    wins = np.random.default_rng(4).normal(0, 0.2, (16, 5, 17, 3))
    S = sensitivity(m, wins, sigma=0.01)
    ref = reference_index(5, "online")
    np.testing.assert_allclose(S[ref, 1:, 1:], np.eye(16), atol=1e-4)
    np.testing.assert_allclose(S[ref, 0, 1:], 1.0, atol=1e-4)        # moving the pelvis moves all the others
    assert np.abs(np.delete(S, ref, axis=0)).max() < 1e-6
