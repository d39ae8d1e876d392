"""Lifter accuracy on held-out real motion (virtual cameras + detector-like 2D noise), alone / + TP-Net /
+ fitting, and the speed of the per-frame 3D part (lift + TP-Net + fit) that `structpose video` runs.

Accuracy: every held-out clip (structpose.data.splits "test": DeepMimic cartwheel, dance_b, punch,
walker_turn_right1, holosoma climb_seq_4 at 30 fps) seen by 3 fixed random cameras per clip, 2D with
the training noise model (per-frame noise, outliers, missing joints) -- the lifter never saw these
motions.  MPJPE (root-relative) and PA-MPJPE in mm, MPJVE (velocity error, mm/frame), mean over frames.
"""
from __future__ import annotations

import time

import numpy as np
import torch


def _sequences(n_cams: int = 3, seed: int = 7):
    from structpose.data.detector_noise import detector_noise
    from structpose.data.sources import load_clips
    from structpose.data.splits import split_clips
    from structpose.train.lifter import LifterTrainConfig
    cfg = LifterTrainConfig(flip=False, bone_jitter=0.0)
    g = torch.Generator().manual_seed(seed)
    out = []
    for c in split_clips(load_clips(("deepmimic", "holosoma"), fps=30.0))["test"]:
        w = torch.as_tensor(np.array(c.world, np.float32))
        for k in range(n_cams):
            cam, uv, _ = _fixed_view(w, cfg, g)
            noisy, mask = detector_noise(uv, cfg, g)
            noisy[mask == 0] = float("nan")
            out.append((f"{c.name}#{k}", cam.numpy(), noisy.numpy() + 500.0, c.fps))
    return out


def _fixed_view(w, cfg, g):
    """Like training's `views`, but one camera (yaw, elevation, distance, focal) for all frames."""
    import math

    from structpose.train.lifter import _rot
    u = lambda lo, hi: lo + (hi - lo) * torch.rand(1, generator=g)
    p = w - w[:, :1]
    root_world = w[:, 0] - w[:1, 0]                      # the clip's own root motion, kept
    yaw, elev = u(0, 2 * math.pi), torch.deg2rad(u(*cfg.elevation_deg))
    R = _rot(0, elev)[0] @ torch.tensor([[1.0, 0, 0], [0, -1.0, 0], [0, 0, -1.0]]) @ _rot(1, yaw)[0]
    d, f = u(4.0, 7.0), u(*cfg.focal_px)
    cam = (p + root_world[:, None]) @ R.T + torch.tensor([0.0, 0.0, float(d)])
    uv = cam[..., :2] / cam[..., 2:3] * f
    return cam, uv, f


def accuracy() -> list[tuple[str, float, float, float]]:
    from structpose.fitting import fit_sequence
    from structpose.metrics import mpjpe, mpjve, pa_mpjpe
    from structpose.pipeline.lifting import PoseLifter
    from structpose.pipeline.refiner import refine_sequence
    lifter = PoseLifter(min_score=0.5)
    have_bi = True
    try:
        from structpose.models.tpnet import pretrained
        pretrained("bidirectional")
    except Exception:  # noqa: BLE001 - the shipped bidirectional model may be absent; say so in the table
        have_bi = False
    arms: dict[str, list] = {k: [] for k in ("lifter", "lifter + fit", "lifter + TP-Net online",
                                             "lifter + TP-Net online + fit", "lifter + TP-Net bidir. + fit")}
    gts = []
    for name, cam, uv, fps in _sequences():
        sc = np.isfinite(uv).all(-1).astype(np.float32)
        _, rel = lifter(np.nan_to_num(uv), sc, (1000, 1000))
        ok = np.isfinite(rel).all((1, 2))
        rel = rel[ok]
        gt = (cam - cam[:, :1])[ok]
        on = refine_sequence(rel, fps, mode="online")
        res = {"lifter": rel, "lifter + fit": fit_sequence(rel), "lifter + TP-Net online": on,
               "lifter + TP-Net online + fit": fit_sequence(on)}
        if have_bi:
            res["lifter + TP-Net bidir. + fit"] = fit_sequence(refine_sequence(rel, fps, mode="bidirectional"))
        for k, v in res.items():
            arms[k].append(v)
        gts.append(gt)
    rows = []
    for k, seqs in arms.items():
        if not seqs:
            rows.append((k, float("nan"), float("nan"), float("nan")))
            continue
        p = np.concatenate(seqs).astype(np.float64)
        t = np.concatenate(gts).astype(np.float64)
        ve = np.mean([float(mpjve(a.astype(np.float64), b.astype(np.float64))) for a, b in zip(seqs, gts)])
        rows.append((k, 1000 * float(mpjpe(p, t)), 1000 * float(pa_mpjpe(p, t)), 1000 * ve))
    return rows


def speed(n: int = 300) -> list[tuple[str, float]]:
    from structpose.cli._threads import single_threaded
    from structpose.data import deepmimic
    from structpose.fitting import RunningSkeleton
    from structpose.pipeline.lifting import PoseLifter
    from structpose.pipeline.refiner import OnlineRefiner
    single_threaded()
    c = deepmimic.load_all()[3]
    cam = c.in_camera()
    uv = (cam[..., :2] / cam[..., 2:] * 500 + 320).astype(np.float32)
    sc = np.ones(17, np.float32)
    lifter, ref, skel = PoseLifter(), OnlineRefiner(fps=30), RunningSkeleton(300)

    def per_frame(fn):
        for i in range(10):
            fn(i)
        t = time.perf_counter()
        for i in range(n):
            fn(i)
        return 1000 * (time.perf_counter() - t) / n

    poses = [lifter(uv[i % len(uv)], sc, (640, 480))[0] for i in range(60)]
    lift_ms = per_frame(lambda i: lifter(uv[i % len(uv)], sc, (640, 480)))
    tp_ms = per_frame(lambda i: ref.push(poses[i % 60]))
    fit_ms = per_frame(lambda i: skel(poses[i % 60]))
    ref2, skel2 = OnlineRefiner(fps=30), RunningSkeleton(300)
    all_ms = per_frame(lambda i: skel2(ref2.push(lifter(uv[i % len(uv)], sc, (640, 480))[0])))
    with torch.no_grad():
        xy = np.repeat(uv[:1], 1024, 0)
        t = time.perf_counter()
        lifter(xy, np.ones(xy.shape[:2], np.float32), (640, 480))
        batch_ms = 1000 * (time.perf_counter() - t) / 1024
    return [("lift (1 frame)", lift_ms), ("lift (batch 1024, per frame)", batch_ms),
            ("TP-Net online push", tp_ms), ("skeleton fit (running symmetric median)", fit_ms),
            ("lift + TP-Net + fit, per frame", all_ms)]


def main() -> None:
    import os
    t0 = time.perf_counter()
    rows = accuracy()
    print("Held-out real motion, virtual cameras, detector-like noise (mm):")
    print(f"{'pipeline':32s} {'MPJPE':>8s} {'PA-MPJPE':>9s} {'MPJVE':>7s} {'PA vs lifter':>13s}")
    base = rows[0][2]
    for k, a, b, v in rows:
        print(f"{k:32s} {a:8.1f} {b:9.1f} {v:7.2f} {b / base:13.3f}")
    print(f"(accuracy: {time.perf_counter() - t0:.0f} s)")
    print(f"\nPer-frame 3D stage, 1 torch thread, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores:")
    sp = speed()
    target = 2.0
    for k, ms in sp:
        print(f"{k:42s} {ms:7.3f} ms   ({ms / target:5.2f} x the 2 ms budget)")


if __name__ == "__main__":
    main()
