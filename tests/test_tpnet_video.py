"""structpose.train.tpnet_video: runs of consecutive detected video frames from render chunks."""
import numpy as np

from structpose.train.tpnet_video import lifter_runs


def _renders(rng):
    # two 8-frame sequences, stored with their frames shuffled; sequence 1 is not video mode at frame 0
    seq = np.repeat([0, 1], 8)
    frame = np.tile(np.arange(8), 2)
    order = rng.permutation(16)
    joints = rng.normal(size=(16, 17, 3)) + np.array([0.0, 0.0, 4.0])
    video = np.ones(16, bool)
    video[8] = False
    return {"joints_cam": joints[order], "sequence": seq[order], "seq_frame": frame[order],
            "fps": np.full(16, 30.0), "video": video[order], "clip": np.array([f"c{s}" for s in seq[order]])}, order


def test_runs_split_at_missing_frames_and_are_root_relative():
    rng = np.random.default_rng(0)
    r, _ = _renders(rng)
    preds = r["joints_cam"] + rng.normal(scale=0.05, size=r["joints_cam"].shape)
    missing = {(0, 3), (1, 6)}                  # (sequence, frame) with no pose
    for i in range(16):
        if (r["sequence"][i], r["seq_frame"][i]) in missing:
            preds[i] = np.nan
    runs = lifter_runs(r, preds, min_len=2)
    # expected runs by hand: seq 0 -> frames 0-2, 4-7; seq 1 -> frame 0 not video, 1-5, 7 (too short)
    spans = sorted((int(n.split("#")[1].split("@")[0]), int(n.split("@")[1]), len(g)) for n, g, _ in runs)
    assert spans == [(0, 0, 3), (0, 4, 4), (1, 1, 5)]
    for name, gt, pred in runs:
        s, f0 = int(name.split("#")[1].split("@")[0]), int(name.split("@")[1])
        idx = [int(np.flatnonzero((r["sequence"] == s) & (r["seq_frame"] == f))[0]) for f in range(f0, f0 + len(gt))]
        want_gt = r["joints_cam"][idx] - r["joints_cam"][idx][:, :1]
        want_pred = preds[idx] - preds[idx][:, :1]
        np.testing.assert_allclose(gt, want_gt, atol=1e-5)
        np.testing.assert_allclose(pred, want_pred, atol=1e-5)
        assert np.all(gt[:, 0] == 0) and name.startswith(f"c{s}#")


def test_init_weights_must_match_the_model(tmp_path):
    import pytest
    import yaml

    from structpose.errors import StructposeError
    from structpose.models.tpnet import build_model, save_model
    from structpose.train.tpnet import TPNetTrainConfig, train
    other = tmp_path / "other.pt"
    save_model(build_model({"kind": "tpnet", "window": 4, "mode": "online", "hidden": [32]}), other)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"model": {"kind": "tpnet", "window": 4, "mode": "online", "hidden": [64]},
                                   "init": str(other), "sources": ["deepmimic"], "out_dir": str(tmp_path / "r")}))
    with pytest.raises(StructposeError, match="init weights"):
        train(TPNetTrainConfig.from_yaml(cfg), progress=False)
    cfg.write_text(yaml.safe_dump({"init": str(tmp_path / "nope.pt")}))
    with pytest.raises(StructposeError, match="not found"):
        TPNetTrainConfig.from_yaml(cfg)
