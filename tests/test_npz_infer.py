"""Inference without torch: the .npz NumPy forward equals the torch forward on real motion for every
shipped lifter / TP-Net, the shipped .npz are current, and the MediaPipe commands never import torch."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from structpose.cameras import look_at
from structpose.models.npz_infer import (
    NotAnMLP,
    NpzLifter,
    NpzTPNet,
    export_npz,
    npz_for,
    read_npz,
    shipped_weights,
)

ROOT = Path(__file__).resolve().parents[1]
PHOTO = Path("/usr/share/doc/opencv-doc/examples/data/messi5.jpg")


@pytest.fixture(scope="module")
def heldout_cam():
    """Held-out real motion (test clips) in a camera 4 m away: (T, 17, 3) metres, and its pixels."""
    from structpose.data.sources import load_clips
    from structpose.data.splits import split_clips
    cams = []
    for c in split_clips(load_clips(("deepmimic",)))["test"]:
        w = np.asarray(c.world[::2], float)
        target = w[:, 0].mean(0)
        R, t = look_at(target + np.array([-2.0, 0.4, 3.5]), target)
        cams.append(w @ R.T + t)
    cam = np.concatenate(cams).astype(np.float32)
    return cam, cam[..., :2] / cam[..., 2:] * 900.0 + np.array([640.0, 360.0], np.float32)


def test_every_shipped_network_has_a_current_npz():
    """The .npz beside each shipped .pt records that .pt's SHA-256 (re-run `structpose export npz` after training)."""
    pts = shipped_weights()
    assert {p.stem for p in pts} >= {"lifter", "tpnet_online", "tpnet_bidirectional"}
    for pt in pts:
        assert npz_for(pt) == pt.with_suffix(".npz"), f"{pt.name}: stale or missing .npz beside it"


@pytest.mark.parametrize("pt", [p for p in shipped_weights() if p.stem.startswith("lifter")], ids=lambda p: p.stem)
def test_numpy_lifter_equals_torch_on_real_poses(pt, heldout_cam):
    from structpose.models.lifter import load_lifter, normalise_2d
    _, uv = heldout_cam
    mask = np.ones(uv.shape[:2], np.float32)
    mask[::7, [3, 13]] = 0                       # some frames miss an ankle and a wrist
    model = load_lifter(pt)
    with torch.no_grad():
        xy_n, m2, centre, radius = normalise_2d(torch.from_numpy(uv), torch.from_numpy(mask))
        pose_t, log_t = model(xy_n, m2)
    pose, log_s, xy_np, _, centre_np, radius_np = NpzLifter.from_file(npz_for(pt))(uv, mask)
    np.testing.assert_allclose(xy_np, xy_n.numpy(), atol=1e-5)
    np.testing.assert_allclose(radius_np, radius.numpy(), rtol=1e-5)
    np.testing.assert_allclose(centre_np, centre.numpy(), atol=1e-3)   # pixels
    np.testing.assert_allclose(log_s, log_t.numpy(), atol=1e-5)
    metres_np = pose * np.exp(log_s)[:, None, None]
    metres_t = (pose_t * log_t.exp()[:, None, None]).numpy()
    assert np.abs(metres_np - metres_t).max() < 1e-5


@pytest.mark.parametrize("pt", [p for p in shipped_weights() if p.stem.startswith("tpnet")], ids=lambda p: p.stem)
def test_numpy_tpnet_equals_torch_on_real_windows(pt, heldout_cam):
    from structpose.models.tpnet import load_model
    from structpose.models.windows import sample_windows, window_offsets
    cam, _ = heldout_cam
    rel = cam[:400] - cam[:400, :1]
    rel = rel + np.random.default_rng(0).normal(0, 0.02, rel.shape).astype(np.float32)   # a lifter's jitter
    model = load_model(pt)
    times = np.arange(len(rel)) / 30.0
    win = sample_windows(rel, times, times[::5], window_offsets(model.window, model.mode), model.rate)
    with torch.no_grad():
        ref = model(torch.from_numpy(win.astype(np.float32))).numpy()
    out = NpzTPNet.from_file(npz_for(pt))(win)
    assert out.shape == ref.shape
    assert np.abs(out - ref).max() < 1e-5
    assert np.abs(ref - rel[::5]).max() > 1e-3          # the network does change the poses (not an identity)


def test_stale_npz_is_not_used_and_a_fresh_one_is_cached(tmp_path, monkeypatch):
    """A .pt whose .npz beside it came from other weights: converted into the data folder instead."""
    monkeypatch.setenv("STRUCTPOSE_DATA", str(tmp_path / "data"))
    src = next(p for p in shipped_weights() if p.stem == "tpnet_online")
    pt = tmp_path / "mine.pt"
    blob = torch.load(src, weights_only=True)
    blob["state_dict"] = {k: v * 2 if v.is_floating_point() else v for k, v in blob["state_dict"].items()}
    torch.save(blob, pt)
    export_npz(src, tmp_path / "mine.npz")             # the wrong weights beside it
    got = npz_for(pt)
    assert got.parent == tmp_path / "data" / "npz"
    _, w = read_npz(got)
    first = next(k for k in blob["state_dict"] if k.endswith("weight"))
    np.testing.assert_array_equal(w[first], blob["state_dict"][first].float().numpy())
    assert npz_for(pt) == got                          # converted once


def test_a_model_numpy_does_not_run_is_named(tmp_path):
    from structpose.models.temporal_rnn import TemporalRNN
    from structpose.models.tpnet import save_model
    pt = save_model(TemporalRNN(window=8, mode="online"), tmp_path / "lstm.pt")
    with pytest.raises(NotAnMLP, match="lstm"):
        export_npz(pt)
    from structpose.pipeline.refiner import _model
    assert isinstance(_model(pt, "online"), torch.nn.Module)   # the refiner runs it in torch


_NO_TORCH = r"""
import sys
from structpose.cli import main
codes = [main(a) for a in sys.argv[1:]]
print(codes, sorted(m for m in ("torch", "scipy", "matplotlib") if m in sys.modules))
"""


def test_video_lift_and_image_do_not_import_torch(tmp_path):
    """The product commands on real input run end to end without torch in sys.modules."""
    from benchmarks._helpers import write_still_video
    video = write_still_video(tmp_path / "v.mp4", [PHOTO], 6)
    pose = tmp_path / "v.npz"
    args = [["video", str(video), "--out", str(pose), "--no-progress", "--mode", "online"],
            ["lift", str(pose), "--out", str(tmp_path / "l.npz"), "--mode", "bidirectional"],
            ["image", str(PHOTO), "--out", str(tmp_path / "img")]]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + str(ROOT)}
    env.pop("STRUCTPOSE_INFERENCE", None)
    code = "import json, sys; sys.argv[1:] = [json.loads(a) for a in sys.argv[1:]]\n" + _NO_TORCH
    import json
    r = subprocess.run([sys.executable, "-c", code, *(json.dumps(a) for a in args)], check=False, capture_output=True,
                       text=True, env=env, cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    last = r.stdout.strip().splitlines()[-1]
    assert last.startswith("[0, 0, 0]"), last
    assert "torch" not in last, last
    # image draws its 3D figure with matplotlib (and MediaPipe's own import pulls it in); lift needs neither
    r2 = subprocess.run([sys.executable, "-c", code, json.dumps(args[1])], check=False, capture_output=True, text=True,
                        env=env, cwd=tmp_path, timeout=120)
    last = r2.stdout.strip().splitlines()[-1]
    assert last.startswith("[0]") and "torch" not in last and "matplotlib" not in last, r2.stdout + r2.stderr[-1000:]


def test_forcing_torch_gives_the_same_poses_and_a_bad_value_is_one_line(tmp_path, heldout_cam, monkeypatch):
    from structpose.errors import StructposeError
    from structpose.pipeline.lifting import lift_sequence
    _, uv = heldout_cam
    uv = uv[:90]
    sc = np.ones(uv.shape[:2], np.float32)
    a = lift_sequence(uv, sc, 30.0, (1280, 720), mode="online").poses_3d
    monkeypatch.setenv("STRUCTPOSE_INFERENCE", "torch")
    b = lift_sequence(uv, sc, 30.0, (1280, 720), mode="online").poses_3d
    assert np.abs(a - b).max() < 1e-4
    monkeypatch.setenv("STRUCTPOSE_INFERENCE", "onnx")
    with pytest.raises(StructposeError, match="STRUCTPOSE_INFERENCE"):
        lift_sequence(uv, sc, 30.0, (1280, 720), mode="online")
