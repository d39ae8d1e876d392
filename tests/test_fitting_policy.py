"""One fitting policy across the commands: refine --fit-skeleton, lift, video's chain and the library
give the same bones for the same poses (left/right symmetric medians; online: causal running medians)."""
from __future__ import annotations

import numpy as np
import pytest

from structpose.cli import main
from structpose.data.error_model import ErrorModel
from structpose.io.posefile import PoseSequence, load_pose_file, save_pose_file
from structpose.skeleton import H36M17

FPS = 30.0
PAR = [p for p, _ in H36M17.bones]
CHI = [c for _, c in H36M17.bones]


def _lengths(p):
    return np.linalg.norm(p[..., CHI, :] - p[..., PAR, :], axis=-1)


def _twin_by_name(b: int) -> int:
    """The bone whose parent and child names swap l_ <-> r_ (found from the names, not flip_permutation)."""
    swap = {"l": "r", "r": "l"}

    def other(j):
        n = H36M17.names[j]
        return H36M17.names.index(swap[n[0]] + n[1:]) if n[:2] in ("l_", "r_") else j
    return H36M17.bones.index((other(PAR[b]), other(CHI[b])))


@pytest.fixture(scope="module")
def noisy():
    """A held-out real climbing sequence (4 s) with detector-like 3D errors: bones wobble and differ left/right."""
    from structpose.data.sources import load_clips
    from structpose.data.splits import split_clips
    c = split_clips(load_clips("holosoma", fps=FPS))["test"][0]
    clean = c.in_camera()[:120].astype(np.float64)
    p = ErrorModel().apply(clean, FPS, 3) + clean[:, :1]
    p[40:43] = np.nan                                               # a short gap: bridged, held online
    return p


def _cli_refine(tmp_path, poses, mode, name):
    src = save_pose_file(tmp_path / f"{name}_in.npz", PoseSequence(poses, fps=FPS))
    out = tmp_path / f"{name}.npz"
    assert main(["refine", str(src), "--out", str(out), "--mode", mode, "--fit-skeleton"]) == 0
    return load_pose_file(out).poses_3d


def test_offline_bones_are_one_symmetric_median_everywhere(tmp_path, noisy):
    from structpose.fitting import fit_sequence
    from structpose.pipeline.refiner import refine_and_fit, refine_sequence
    raw = refine_sequence(noisy, FPS, mode="bidirectional")           # TP-Net alone, no fit
    ok = np.isfinite(raw).all((1, 2))
    # the policy computed by hand: per-bone median over the finite frames, averaged with the twin
    med = np.median(_lengths(raw[ok].astype(np.float64)), axis=0)
    want = 0.5 * (med + med[[_twin_by_name(b) for b in range(16)]])
    assert np.abs(med - med[[_twin_by_name(b) for b in range(16)]]).max() > 1e-3   # the input is asymmetric
    cli = _cli_refine(tmp_path, noisy, "bidirectional", "bi")         # structpose refine --fit-skeleton
    chain = refine_and_fit(noisy, FPS, mode="bidirectional", fit=True)  # lift_sequence / process_video
    lib = fit_sequence(raw)                                           # the library on refined poses
    for got in (cli, chain, lib):
        np.testing.assert_allclose(_lengths(got[ok].astype(np.float64)), np.broadcast_to(want, (ok.sum(), 16)),
                                   atol=2e-6)
    np.testing.assert_allclose(cli[ok], chain[ok], atol=1e-6)


def test_online_bones_are_one_running_median_everywhere(tmp_path, noisy):
    from structpose.fitting import RunningSkeleton
    from structpose.pipeline.refiner import OnlineRefiner, refine_and_fit, refine_sequence
    cli = _cli_refine(tmp_path, noisy, "online", "on")
    chain = refine_and_fit(noisy, FPS, mode="online", fit=True)      # lift --mode online
    stream = OnlineRefiner(fps=FPS, fit=True)                        # video --mode online, frame by frame
    video = np.stack([stream.push(p) for p in noisy])
    raw = refine_sequence(noisy, FPS, mode="online")
    history = round(10 * FPS)
    running = RunningSkeleton(history=history)
    lib = np.stack([running(p) for p in raw])
    ok = np.isfinite(cli).all((1, 2))
    assert ok.sum() == len(noisy)                                     # the 3-frame gap is held
    for got in (chain, video, lib):
        np.testing.assert_allclose(got, cli, atol=1e-5)
    # causal and symmetric: frame k's bones are the twin-averaged median of frames 0..k's raw bones
    # at the last re-estimation (every 10 frames)
    lengths = _lengths(raw.astype(np.float64))
    for k in (0, 9, 10, 55, 119):
        at = k - k % 10
        med = np.median(lengths[:at + 1], axis=0)
        want = 0.5 * (med + med[[_twin_by_name(b) for b in range(16)]])
        np.testing.assert_allclose(_lengths(cli[k].astype(np.float64)), want, atol=2e-6)


def test_lift_equals_refine_fit_on_the_lifted_poses(tmp_path, noisy):
    """`lift` (lifter -> TP-Net -> fit) = `lift --mode none --no-fit` then `refine --fit-skeleton`."""
    clean = np.nan_to_num(noisy, nan=0.0) + np.array([0.0, 0.0, 4.0])
    clean[40:43] = noisy[39]  + np.array([0.0, 0.0, 4.0])
    f, size = 800.0, (1000, 1000)
    uv = clean[..., :2] / clean[..., 2:] * f + 500.0
    kp = save_pose_file(tmp_path / "kp.npz", PoseSequence(clean.astype(np.float32), fps=FPS,
                                                          poses_2d=uv.astype(np.float32),
                                                          scores=np.ones(uv.shape[:2], np.float32),
                                                          image_size=size))
    for mode in ("bidirectional", "online"):
        raw, fitted, refit = (tmp_path / f"{n}_{mode}.npz" for n in ("raw", "fit", "refit"))
        assert main(["lift", str(kp), "--out", str(raw), "--mode", "none", "--no-fit"]) == 0
        assert main(["lift", str(kp), "--out", str(fitted), "--mode", mode]) == 0
        assert main(["refine", str(raw), "--out", str(refit), "--mode", mode, "--fit-skeleton"]) == 0
        a, b = load_pose_file(fitted).poses_3d, load_pose_file(refit).poses_3d
        np.testing.assert_allclose(a, b, atol=1e-5)
        la = _lengths(a.astype(np.float64))
        np.testing.assert_allclose(la, la[:, [_twin_by_name(i) for i in range(16)]], atol=2e-6)
