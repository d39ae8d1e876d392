"""The lifter alone under `structpose demo`'s protocol: held-out clips, one
`cameras.sample_virtual_camera` per clip and seed, `data.detector_noise`, and
`PoseLifter(focal_px=camera focal)`; root-relative MPJPE / PA-MPJPE / N-MPJPE in mm.

`python benchmarks/bench_lifter_views.py [--split val|test] [--seeds 5] [--no-ray] [weights.pt ...]`
(default: the shipped weights on VAL; choose models on VAL, report TEST once).  "+ ray" rows rotate
the 2D so the pelvis ray becomes the optical axis before lifting and rotate the 3D back (exact for
perspective; uses the focal length and the image centre): it isolates the error due to subjects
off the optical axis.
"""
from __future__ import annotations

import argparse
import time

import numpy as np


def cases(split: str, seeds: int):
    import torch

    from structpose.cameras import project_clip, sample_virtual_camera
    from structpose.data.detector_noise import DetectorNoise, detector_noise
    from structpose.data.sources import load_clips
    from structpose.data.splits import split_clips
    clips = split_clips(load_clips(("deepmimic", "holosoma")))[split]
    cfg = DetectorNoise()
    out = []
    for seed in range(seeds):
        rng, g = np.random.default_rng(seed), torch.Generator().manual_seed(seed)
        for c in clips:
            cam = sample_virtual_camera(rng, c.world)
            uv, gt = project_clip(c, cam)
            noisy, mask = detector_noise(torch.as_tensor(uv, dtype=torch.float32), cfg, g)
            out.append((c.name, cam, noisy.numpy(), mask.numpy(), gt))
    return out


def evaluate(weights, split: str = "val", seeds: int = 5, ray: bool = False, data=None) -> dict[str, float]:
    from structpose.metrics import mpjpe, n_mpjpe, pa_mpjpe
    from structpose.pipeline.lifting import PoseLifter
    preds, gts, names = [], [], []
    for name, cam, uv, mask, gt in data if data is not None else cases(split, seeds):
        lifter = PoseLifter(weights, focal_px=float(cam.f[0]), on_axis=ray)
        rel = lifter(np.nan_to_num(uv), mask.astype(np.float32), cam.image_size)[1].astype(np.float64)
        ok = np.isfinite(rel).all((1, 2))
        preds.append(rel[ok])
        gts.append((gt - gt[:, :1])[ok])
        names += [name] * int(ok.sum())
    p, t = np.concatenate(preds).astype(np.float64), np.concatenate(gts).astype(np.float64)
    names = np.array(names)
    return {"mpjpe": 1000 * float(mpjpe(p, t)), "pa_mpjpe": 1000 * float(pa_mpjpe(p, t)),
            "n_mpjpe": 1000 * float(n_mpjpe(p, t)), "frames": len(p),
            # holosoma's 120 Hz climbs hold most frames: also the mean over clips of per-clip MPJPE
            "clip_mpjpe": 1000 * float(np.mean([mpjpe(p[names == n], t[names == n]) for n in set(names)]))}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="val", choices=("val", "test"))
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--no-ray", dest="ray", action="store_false", help="skip the ray-rotation rows")
    ap.add_argument("weights", nargs="*")
    a = ap.parse_args(argv if argv is not None else [])
    t0 = time.perf_counter()
    data = cases(a.split, a.seeds)
    print(f"Lifter alone, demo protocol, {a.split.upper()} split, {a.seeds} cameras per clip (mm):")
    print(f"{'weights':44s} {'MPJPE':>7s} {'PA-MPJPE':>9s} {'N-MPJPE':>8s} {'clip MPJPE':>10s} {'frames':>7s} {'MPJPE vs row 1':>14s}")
    rows = []
    for w in a.weights or [None]:
        for ray in ((False, True) if a.ray else (False,)):
            r = evaluate(w, ray=ray, data=data)
            rows.append(r)
            label = (w or "shipped") + (" + ray" if ray else "")
            print(f"{label[-44:]:44s} {r['mpjpe']:7.1f} {r['pa_mpjpe']:9.1f} {r['n_mpjpe']:8.1f} {r['clip_mpjpe']:10.1f} {r['frames']:7d} {r['mpjpe'] / rows[0]['mpjpe']:14.3f}")
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    import sys
    main(sys.argv[1:])
