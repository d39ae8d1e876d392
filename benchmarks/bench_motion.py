"""Leave one source out: the lifter on held-out real motion of a source family it never trained on.

Protocol (structpose.data.splits.leave_one_source_out): for each family (deepmimic, holosoma, bandai,
cmu), the test clips of that family (by whole clip / subject / style, never seen in training by any
recipe here) at 30 fps, at most 40 clips (evenly spread over the sorted list) and 300 frames each
(the middle of the clip), each seen through one fixed random camera (bench_lifter's _fixed_view,
seed per clip) with today's detector-like 2D noise.  Ground truth: the clip as its rig records it
("raw") and harmonised to the one H36M-17 convention (structpose.data.harmonise), which is what
the new recipe is taught; MPJPE (root-relative, not rescaled), PA-MPJPE and MPJVE in mm.

Models: today's shipped lifter (src/structpose/weights/lifter.pt: DeepMimic + holosoma train clips),
the new recipe on today's two sources only (today_sources.pt: what the recipe alone does), and the
new recipe trained without the held-out family (weights in
RUN_DIR/loso_<family>.pt).  Run: ``STRUCTPOSE_MOTION_RUNS=RUN_DIR python -m benchmarks motion``
(default RUN_DIR: <data folder>/runs/motion); without weights there, only today's lifter is measured.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import torch

FAMILIES = ("deepmimic", "holosoma", "bandai", "cmu")


def test_clips(family: str, max_clips: int = 40, max_frames: int = 300):
    from structpose.data.clip import Clip
    from structpose.data.harmonise import harmonise
    from structpose.data.resample import resample_clip
    from structpose.data.sources import load_clips
    from structpose.data.splits import leave_one_source_out
    from structpose.train.motion_lifter import FAMILIES as SRC
    clips = sorted(leave_one_source_out(load_clips(SRC[family]), family)["test"], key=lambda c: c.name)
    if len(clips) > max_clips:
        clips = [clips[i] for i in np.linspace(0, len(clips) - 1, max_clips).round().astype(int)]
    out = []
    for c in clips:
        c = resample_clip(c, 30.0)
        a = max(0, (c.num_frames - max_frames) // 2)
        c = Clip(c.name, c.source, np.asarray(c.world[a:a + max_frames], np.float32), c.fps)
        out.append((c, harmonise(c)))
    return out


def sequences(family: str, seed: int = 11):
    from benchmarks.bench_lifter import _fixed_view
    from structpose.train.lifter import LifterTrainConfig, detector_noise
    cfg = LifterTrainConfig(flip=False, bone_jitter=0.0)
    out = []
    for k, (raw, harm) in enumerate(test_clips(family)):
        g = torch.Generator().manual_seed(seed * 1000 + k)
        w = torch.as_tensor(np.array(raw.world, np.float32))
        cam, uv, _ = _fixed_view(w, cfg, g)
        # the same camera for the harmonised ground truth: re-run with the same generator state
        g2 = torch.Generator().manual_seed(seed * 1000 + k)
        cam_h, _, _ = _fixed_view(torch.as_tensor(np.array(harm.world, np.float32)), cfg, g2)
        noisy, mask = detector_noise(uv, cfg, g)
        noisy[mask == 0] = float("nan")
        out.append((raw.name, cam.numpy(), cam_h.numpy(), noisy.numpy() + 500.0))
    return out


def evaluate(weights: str | Path | None, seqs) -> dict[str, float]:
    from structpose.metrics import mpjpe, mpjve, pa_mpjpe
    from structpose.pipeline.lifting import PoseLifter
    lifter = PoseLifter(weights, min_score=0.5)
    res: dict[str, list] = {"p": [], "raw": [], "harm": []}
    for _name, cam, cam_h, uv in seqs:
        sc = np.isfinite(uv).all(-1).astype(np.float32)
        _, rel = lifter(np.nan_to_num(uv), sc, (1000, 1000))
        ok = np.isfinite(rel).all((1, 2))
        res["p"].append(rel[ok].astype(np.float64))
        res["raw"].append((cam - cam[:, :1])[ok].astype(np.float64))
        res["harm"].append((cam_h - cam_h[:, :1])[ok].astype(np.float64))
    out: dict[str, float] = {"frames": float(sum(len(p) for p in res["p"]))}
    p = np.concatenate(res["p"])
    for gt in ("raw", "harm"):
        t = np.concatenate(res[gt])
        out[f"{gt}_mpjpe"] = 1000 * float(mpjpe(p, t))
        out[f"{gt}_pa_mpjpe"] = 1000 * float(pa_mpjpe(p, t))
        out[f"{gt}_mpjve"] = 1000 * float(np.mean([float(mpjve(a, b)) for a, b in zip(res["p"], res[gt])
                                                   if len(a) > 1]))
    return out


def main() -> None:
    from structpose.data.motion_sources import data_dir
    run_dir = Path(os.environ.get("STRUCTPOSE_MOTION_RUNS", data_dir() / "runs" / "motion"))
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    table = {}
    for fam in FAMILIES:
        seqs = sequences(fam)
        row = {"today (shipped lifter)": evaluate(None, seqs)}
        for tag, file in (("new, without this family", f"loso_{fam}.pt"), ("new, all (saw its train clips)", "all.pt"),
                          ("new, commercial (saw its train clips)", "all_commercial.pt"),
                          ("new recipe, today's sources only", "today_sources.pt"),
                          ("new 1024 wide, without this family", f"loso_{fam}_h1024.pt")):
            if (run_dir / file).exists():
                row[tag] = evaluate(run_dir / file, seqs)
        table[fam] = row
        base = row["today (shipped lifter)"]
        print(f"\nheld out: {fam} ({int(base['frames'])} frames, {len(seqs)} clips)")
        print(f"{'model':40s} {'raw MPJPE':>9s} {'PA':>6s} {'MPJVE':>6s} | {'harm. MPJPE':>11s} {'PA':>6s} {'MPJVE':>6s}"
              f" | {'PA vs today':>11s} {'MPJPE vs today':>14s}")
        for tag, r in row.items():
            print(f"{tag:40s} {r['raw_mpjpe']:9.1f} {r['raw_pa_mpjpe']:6.1f} {r['raw_mpjve']:6.1f} | "
                  f"{r['harm_mpjpe']:11.1f} {r['harm_pa_mpjpe']:6.1f} {r['harm_mpjve']:6.1f} | "
                  f"{r['harm_pa_mpjpe'] / base['harm_pa_mpjpe']:11.3f} {r['harm_mpjpe'] / base['harm_mpjpe']:14.3f}")
    print(f"\n({time.perf_counter() - t0:.0f} s)")
    (run_dir / "loso.json").write_text(json.dumps(table, indent=1))


if __name__ == "__main__":
    main()
