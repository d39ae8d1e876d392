"""TP-Net fine-tuned on render VIDEOS (issue 13 item 4): real detector errors through time.

Data: the video-mode render chunks of ``structpose data renders --chunks`` (``~/.cache/structpose/renders/
fuse_chunks``: Anny bodies posed by real motion of 4 families, MediaPipe in tracking mode, 32-frame
sequences; splits by whole clip / subject / style).  Per frame, the shipped default lifter lifts MediaPipe's
2D through the product's path (:mod:`structpose.train.tpnet_video`); runs of consecutive detected frames are
the inputs, the rendered body's true joints the targets (root-relative).  This writes the pairs files the
``configs/tpnet_video_*.yaml`` fine-tunes read (train; val for choosing best.pt).

Held-out TEST render videos, side by side: the lifter alone, today's shipped TP-Nets, the fine-tuned ones
(``runs/tpnet_video_*/best.pt``), One-Euro (lag 0) and Savitzky–Golay (equal lag / free lag) **tuned on
the VAL render videos** for MPJPE and for MPJVE.  Every method runs through ``refine_sequence`` /
the filters on whole runs (a run shorter than a window is padded as the product pads).
Then, if the Pose2Sim demo's cached tracks exist, the real-pixels rows ``structpose video --mode
online|bidirectional`` with today's and the fine-tuned TP-Nets (never tuned on).
"""
from __future__ import annotations

import itertools
import time
from pathlib import Path

import numpy as np
import torch

from structpose.filters import one_euro, savgol
from structpose.metrics import evaluate_sequences
from structpose.models.tpnet import load_model, pretrained
from structpose.models.windows import MODEL_FPS
from structpose.pipeline.refiner import refine_sequence
from structpose.train.tpnet import load_pairs
from structpose.train.tpnet_video import write_split_pairs

ROOT = Path(__file__).resolve().parent.parent
RENDERS = Path("~/.cache/structpose/renders").expanduser()
CHUNKS = RENDERS / "fuse_chunks"
# configs/tpnet_video_{mode}_{variant}.yaml: pNN = NN % of each batch from the render-video pairs (the rest:
# today's recipe), a trailing v = velocity weight x3
VARIANTS = ("p100", "p50", "p100v", "p50v")


def _score(seqs, fn) -> dict:
    r = evaluate_sequences([fn(x) for _, _, x in seqs], [g for _, g, _ in seqs], names=[n for n, _, _ in seqs])
    return {k: 1000 * r[k] for k in ("mpjpe", "pa_mpjpe", "mpjve")}


def _tuned(val, test, grid, make) -> list[tuple[str, tuple, dict]]:
    """For MPJPE and for MPJVE: the grid point best on VAL, scored on TEST."""
    scores = {p: _score(val, lambda x, p=p: make(x, *p)) for p in grid}
    return [(k, b, _score(test, lambda x, b=b: make(x, *b)))
            for k in ("mpjpe", "mpjve") for b in [min(grid, key=lambda p: scores[p][k])]]


def fine_tuned() -> dict[str, Path]:
    """Fresh runs (``runs/tpnet_video_*/best.pt``), else the float16 copies of the VAL-chosen variants kept in
    ``benchmarks/models/``."""
    out = {}
    for m, v in itertools.product(("online", "bidirectional"), VARIANTS):
        for p in (ROOT / "runs" / f"tpnet_video_{m}_{v}" / "best.pt", ROOT / "benchmarks" / "models" /
                  f"tpnet_video_{m}_{v}.pt"):
            if p.is_file():
                out[f"{m}_{v}"] = p
                break
    return out


def depth_table(models: dict) -> None:
    """Today's ``bench_tpnet`` TEST set (the hand-made depth error model on TEST mocap clips): does the
    fine-tune keep what TP-Net did before?"""
    from structpose.data.error_model import ErrorModel

    from .bench_tpnet_family import _sets
    seqs = [(n, g, x) for n, g, x in _sets(ErrorModel())]
    print("\nToday's bench_tpnet TEST set (depth error model, TEST mocap clips x 3 seeds)")
    print("| model | MPJPE mm | PA-MPJPE mm | MPJVE mm/frame |\n|---|---|---|---|")
    r = _score(seqs, lambda x: x)
    print(f"| per-frame input | {r['mpjpe']:.1f} | {r['pa_mpjpe']:.1f} | {r['mpjve']:.2f} |")
    for name, m in models.items():
        r = _score(seqs, lambda x, m=m: refine_sequence(x, MODEL_FPS, mode=m.mode, model=m))
        print(f"| {name} | {r['mpjpe']:.1f} | {r['pa_mpjpe']:.1f} | {r['mpjve']:.2f} |", flush=True)


def selection_table(val, models: dict) -> None:
    """The TP-Nets on the VAL render videos: the variant to keep is chosen here, never on TEST."""
    print(f"\nVAL render videos ({len(val)} runs, {sum(len(g) for _, g, _ in val)} frames): choosing the variant")
    print("| model | MPJPE mm | PA-MPJPE mm | MPJVE mm/frame |\n|---|---|---|---|")
    for name, m in models.items():
        r = _score(val, lambda x, m=m: refine_sequence(x, MODEL_FPS, mode=m.mode, model=m))
        print(f"| {name} | {r['mpjpe']:.1f} | {r['pa_mpjpe']:.1f} | {r['mpjve']:.2f} |", flush=True)


def renders_table(val, test, models: dict) -> None:
    n = sum(len(g) for _, g, _ in test)
    print(f"\nHeld-out TEST render videos: {len(test)} runs, {n} frames (filters tuned on VAL: {len(val)} runs)")
    print("| method | lag (frames) | MPJPE mm | PA-MPJPE mm | MPJVE mm/frame |\n|---|---|---|---|---|")

    def row(name, lag, r):
        print(f"| {name} | {lag} | {r['mpjpe']:.1f} | {r['pa_mpjpe']:.1f} | {r['mpjve']:.2f} |", flush=True)
    row("shipped lifter alone (per frame)", 0, _score(test, lambda x: x))
    oe = list(itertools.product([0.3, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0], [0.0, 0.3, 1.0, 3.0, 10.0, 30.0]))
    for k, p, r in _tuned(val, test, oe, lambda x, fc, b: one_euro(x, MODEL_FPS, fc, b)):
        row(f"One-Euro {p}, tuned on VAL for {k.upper()}", 0, r)
    for name, m in models.items():
        if m.mode == "online":
            row(name, 0, _score(test, lambda x, m=m: refine_sequence(x, MODEL_FPS, mode="online", model=m)))
    lag = max(m.lag for m in models.values() if m.mode == "bidirectional")
    for label, grid in (("equal lag", [(w, o) for w in range(3, 2 * lag + 2, 2) for o in (1, 2, 3) if o < w]),
                        ("free lag", [(w, o) for w in range(5, 32, 2) for o in (1, 2, 3)])):
        for k, p, r in _tuned(val, test, grid, savgol):
            row(f"Savitzky–Golay {p}, {label}, tuned on VAL for {k.upper()}", p[0] // 2, r)
    for name, m in models.items():
        if m.mode == "bidirectional":
            row(name, m.lag, _score(test, lambda x, m=m: refine_sequence(x, MODEL_FPS, mode="bidirectional",
                                                                         model=m)))


def real_pixels_table(paths: dict[str, Path]) -> None:
    from structpose.analysis import real_pixels as rp
    from structpose.analysis.tracks import detect_video
    from structpose.data.formats.qualisys import read_qualisys
    from structpose.data.holosoma import data_dir
    from structpose.data.realvideo import pose2sim_demo
    from structpose.pipeline.lifting import PoseLifter, detector_lifter, lift_sequence
    cache = data_dir() / "real" / "cache"
    demo = pose2sim_demo()
    cams = rp.cameras_for(read_qualisys(demo.calibration), list(demo.names))
    vt = [detect_video(v, "video", cache) for v in demo.videos]
    ref, _ = rp.triangulated_reference(vt, cams, inlier_px=30.0)      # bench_real's INLIER_PX
    ref_cam = [c.world_to_camera(ref) for c in cams]

    def run(v, mode, tpnet):
        pl = PoseLifter(detector_lifter(None))
        world = rp.convert(v.world33.astype(np.float64), "mediapipe33", "h36m17") if pl.uses_world else None
        return lift_sequence(v.keypoints, v.scores, v.fps, v.image_size, mode=mode, fit=True, lifter=pl,
                             tpnet=tpnet, world=world).poses_3d.astype(np.float64)
    systems = {f"structpose video --mode {m} (shipped TP-Net)": (m, None) for m in ("online", "bidirectional")}
    systems.update({f"structpose video --mode {k.split('_')[0]} (TP-Net video {k.split('_')[1]})":
                    (k.split("_")[0], p) for k, p in paths.items()})
    preds = {name: [run(v, m, p) for v in vt] for name, (m, p) in systems.items()}
    common = np.isfinite(rp.compared(ref)).all((1, 2))
    for per_view in preds.values():
        for p in per_view:
            common &= np.isfinite(rp.compared(p)).all((1, 2))
    print(f"\nReal pixels (Pose2Sim demo, {len(vt)} views, {int(common.sum())} common frames; bench_real's "
          "measures: 12 compared joints against the triangulated reference, mean over views; never tuned on)")
    print("| system | MPJPE mm | PA-MPJPE mm | MPJVE mm/frame (60 fps) |\n|---|---|---|---|")
    for name, per_view in preds.items():
        per = [rp.evaluate_view(p, r, common) for p, r in zip(per_view, ref_cam)]
        m = {k: float(np.mean([r[k] for r in per])) for k in ("mpjpe", "pa_mpjpe", "mpjve")}
        print(f"| {name} | {m['mpjpe']:.2f} | {m['pa_mpjpe']:.2f} | {m['mpjve']:.2f} |", flush=True)


def main() -> None:
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    if not CHUNKS.is_dir():
        print(f"  {CHUNKS} missing: make render chunks with `structpose data renders --chunks {CHUNKS}`")
        return
    files = write_split_pairs(CHUNKS, RENDERS)
    val, test = (load_pairs(files[s]) for s in ("val", "test"))
    val = [(n, g.astype(np.float64), p.astype(np.float64)) for n, g, p in val]
    test = [(n, g.astype(np.float64), p.astype(np.float64)) for n, g, p in test]
    paths = fine_tuned()
    models = {"TP-Net online (shipped)": pretrained("online")}
    models.update({f"TP-Net online, fine-tuned on render videos ({k.split('_')[1]})": load_model(p)
                   for k, p in paths.items() if k.startswith("online")})
    models["TP-Net bidirectional (shipped)"] = pretrained("bidirectional")
    models.update({f"TP-Net bidirectional, fine-tuned on render videos ({k.split('_')[1]})": load_model(p)
                   for k, p in paths.items() if k.startswith("bidirectional")})
    if not paths:
        print("  no fine-tuned models: run `structpose train tpnet --config configs/tpnet_video_*.yaml`")
    selection_table(val, models)
    renders_table(val, test, models)
    depth_table(models)
    from structpose.data.holosoma import data_dir
    if any((data_dir() / "real" / "cache").glob("*.video.*.npz")):
        real_pixels_table(paths)
    else:
        print("\n  no cached real-pixels tracks: run `python -m benchmarks real` first for the real-pixels rows")
    print(f"\nwall {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
