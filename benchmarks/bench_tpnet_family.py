"""TP-Net trained on a family of error models, tested on a family it never saw (issue 12, item 4).

Held-out family: :class:`structpose.data.error_family.IIDJitter` (i.i.d. isotropic jitter 20 mm per axis +
single-frame outliers, 1 % per joint, 200 mm per axis) on every TEST-split clip, 3 noise seeds, 30 fps.
The classical filters are tuned **on that very test data** (an oracle advantage): One-Euro at lag 0
against the online TP-Nets; Savitzky–Golay at the bidirectional TP-Net's lag (equal lag) and at any lag
up to 15 frames (free lag) against the bidirectional ones.  Each filter is tuned twice: for MPJPE and
for MPJVE.  Models: today's shipped TP-Nets (trained on the ``depth`` error model only) and the family
models (``runs/tpnet_family_*/best.pt`` after ``structpose train tpnet --config configs/tpnet_family_*.yaml``,
else their float16 copies in ``benchmarks/models/``).  Also, side by side: today's ``bench_tpnet`` TEST
set (the ``depth`` error model) and, where the renders exist, MediaPipe's real errors on TEST-clip renders.
This also writes the MediaPipe pairs files the family configs train on (from ``train_video.npz``).
"""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import torch

from structpose.data.error_family import IIDJitter, mediapipe_pairs, write_pairs
from structpose.data.error_model import ErrorModel
from structpose.data.sources import load_clips
from structpose.data.splits import split_clips
from structpose.filters import one_euro, savgol
from structpose.metrics import evaluate_sequences
from structpose.models.tpnet import load_model, pretrained
from structpose.models.windows import MODEL_FPS
from structpose.pipeline.refiner import refine_sequence

ROOT = Path(__file__).resolve().parent.parent
RENDERS = Path("~/.cache/structpose/renders").expanduser()
SEEDS = (0, 1, 2)
HELD_OUT = IIDJitter()


def _sets(em) -> list[tuple[str, np.ndarray, np.ndarray]]:
    out = []
    for k, c in enumerate(split_clips(load_clips(fps=MODEL_FPS))["test"]):
        clean = c.in_camera().astype(np.float64)
        clean -= clean[:, :1]
        for s in SEEDS:
            out.append((f"{c.name}#{s}", clean, em.apply(clean, MODEL_FPS, 1000 * s + k).astype(np.float64)))
    return out


def _score(seqs, fn) -> dict:
    return evaluate_sequences([fn(x) for _, _, x in seqs], [c for _, c, _ in seqs], names=[n for n, _, _ in seqs])


def _mm(r, k):
    return 1000 * r[k]


def family_model(mode: str) -> Path:
    fresh = ROOT / "runs" / f"tpnet_family_{mode}" / "best.pt"
    return fresh if fresh.is_file() else ROOT / "benchmarks" / "models" / f"tpnet_family_{mode}.pt"


def _tuned(seqs, grid, make) -> dict:
    """The grid's best parameters and scores, for MPJPE and for MPJVE: ``{key: (params, scores)}``."""
    scores = {p: _score(seqs, lambda x, p=p: make(x, *p)) for p in grid}
    return {k: (b := min(grid, key=lambda p: scores[p][k]), scores[b]) for k in ("mpjpe", "mpjve")}


def compare(seqs, title: str, models: dict) -> None:
    base = _score(seqs, lambda x: x)
    print(f"\n{title}\n| method | lag | MPJPE mm | MPJVE mm/frame |\n|---|---|---|---|")
    print(f"| per-frame input | 0 | {_mm(base, 'mpjpe'):.1f} | {_mm(base, 'mpjve'):.1f} |")
    oe_grid = list(itertools.product([0.3, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0], [0.0, 0.3, 1.0, 3.0, 10.0, 30.0]))
    lag = max(m.lag for m in models.values() if m.mode == "bidirectional")
    sg_eq = [(w, o) for w in range(3, 2 * lag + 2, 2) for o in (1, 2, 3) if o < w]
    sg_free = [(w, o) for w in range(5, 32, 2) for o in (1, 2, 3)]
    rows = []
    for key, (p, r) in _tuned(seqs, oe_grid, lambda x, fc, b: one_euro(x, MODEL_FPS, fc, b)).items():
        rows.append((0, f"1€ {p}, oracle-tuned for {key.upper()}", r))
    for name, m in models.items():
        if m.mode == "online":
            rows.append((0, name, _score(seqs, lambda x, m=m: refine_sequence(x, MODEL_FPS, mode="online", model=m))))
    for key, (p, r) in _tuned(seqs, sg_eq, savgol).items():
        rows.append((p[0] // 2, f"Savitzky–Golay {p}, equal lag, oracle-tuned for {key.upper()}", r))
    for key, (p, r) in _tuned(seqs, sg_free, savgol).items():
        rows.append((p[0] // 2, f"Savitzky–Golay {p}, free lag, oracle-tuned for {key.upper()}", r))
    for name, m in models.items():
        if m.mode == "bidirectional":
            rows.append((m.lag, name, _score(seqs, lambda x, m=m: refine_sequence(x, MODEL_FPS, mode="bidirectional",
                                                                                 model=m))))
    for lag_, name, r in rows:
        print(f"| {name} | {lag_} | {_mm(r, 'mpjpe'):.1f} | {_mm(r, 'mpjve'):.1f} |", flush=True)


def main() -> None:
    torch.set_num_threads(2)
    if (RENDERS / "train_video.npz").is_file():
        for split in ("train", "test"):
            write_pairs(mediapipe_pairs(RENDERS / f"{split}_video.npz"), RENDERS / f"mediapipe_pairs_{split}.npz")
    models = {"TP-Net online (shipped, depth model only)": pretrained("online")}
    fam = {mode: family_model(mode) for mode in ("online", "bidirectional")}
    if fam["online"].is_file():
        models["TP-Net online (family: depth + lifter + MediaPipe)"] = load_model(fam["online"])
    light = ROOT / "runs/ablation/tpnet_family_online_light/best.pt"      # configs/ablation/tpnet_family_online_light.yaml
    if light.is_file():
        models["TP-Net online (lighter family mix: lifter 10 %, MediaPipe 5 %)"] = load_model(light)
    models["TP-Net bidirectional (shipped, depth model only)"] = pretrained("bidirectional")
    if fam["bidirectional"].is_file():
        models["TP-Net bidirectional (family: depth + lifter + MediaPipe)"] = load_model(fam["bidirectional"])
    missing = [str(p) for p in fam.values() if not p.is_file()]
    if missing:
        print(f"  missing family models {missing}: run `structpose train tpnet --config configs/tpnet_family_*.yaml`")
    print(f"held-out family: {HELD_OUT}")
    compare(_sets(HELD_OUT), "Held-out family (i.i.d. jitter + outliers), TEST clips x 3 seeds; filters tuned on "
            "this test data", models)
    compare(_sets(ErrorModel()), "Today's bench_tpnet TEST set (depth error model: in the training family of every "
            "model here); filters tuned on this test data", models)
    p = RENDERS / "mediapipe_pairs_test.npz"
    if p.is_file():
        from structpose.train.tpnet import load_pairs
        seqs = [(n, gt.astype(np.float64), pred.astype(np.float64)) for n, gt, pred in load_pairs(p)]
        compare(seqs, f"MediaPipe's real errors on renders of TEST clips ({len(seqs)} runs, "
                f"{sum(len(g) for _, g, _ in seqs)} frames; the family models trained on TRAIN-clip renders)", models)
    else:
        print(f"  {p} missing: no MediaPipe table (make renders with `structpose data renders`)")


if __name__ == "__main__":
    main()
