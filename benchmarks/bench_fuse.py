"""Lifters fed MediaPipe's real outputs on renders of real motion, against today's and MediaPipe's own 3D.

Held-out renders: the video-mode render chunks of :mod:`structpose.train.render_chunks`
(``$STRUCTPOSE_DATA/renders/fuse_chunks``): ``val`` chunks choose (lowest PA-MPJPE), ``test`` chunks (clips
of held-out motion: CMU subject 02, Bandai's held-out styles, DeepMimic / holosoma test clips) report.
Every system lifts through the product's path (``PoseLifter``, on-axis, each sequence's true focal),
frame by frame (no TP-Net, no fit: the lifter itself); root-relative, all 17 joints against the rendered
body's joints, frames where MediaPipe found the person.  MPJVE over consecutive frames of a sequence.

Systems: MediaPipe's world landmarks; the shipped lifters; every candidate in
``$STRUCTPOSE_DATA/renders/fuse_models/*.pt`` (``structpose train lifter-world``), world variants both with
and without the world landmarks given; and a fixed blend ``a * lifter + (1 - a) * MediaPipe world`` whose
``a`` is chosen on val.  Also each lifter on today's noise-model test (held-out mocap clips, synthetic 2D).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

DATA = Path(os.environ.get("STRUCTPOSE_DATA") or Path.home() / ".cache" / "structpose").expanduser() / "renders"
ROOT = Path(__file__).resolve().parent.parent
BLEND = np.round(np.arange(0.0, 1.01, 0.1), 2)


def _mp_world(pairs: dict) -> np.ndarray:
    w = pairs["det_world"].astype(np.float64)
    return np.where(pairs["det_found"][:, None, None], w - w[:, :1], np.nan)


def candidates() -> dict[str, str]:
    from structpose.models.npz_infer import LIFTER_NAMES
    out = {f"shipped {n}": n for n in LIFTER_NAMES}
    for p in sorted((DATA / "fuse_models").glob("*.pt")):
        out[p.stem] = str(p)
    return out


def main() -> None:
    from structpose.errors import StructposeError
    from structpose.models.lifter import load_lifter
    from structpose.train.lifter import LifterTrainConfig, evaluate, load_training_clips, split
    from structpose.train.lifter_renders import lift_renders, score_renders
    from structpose.train.lifter_world import load_split
    torch.set_num_threads(1)
    folder = DATA / "fuse_chunks"
    if not list(folder.glob("val_*.npz")) or not list(folder.glob("test_*.npz")):
        print(f"(render chunks missing in {folder}: run `structpose data renders --chunks {folder}` first)")
        return
    sets = {s: load_split(folder, s) for s in ("val", "test")}
    for s, d in sets.items():
        fams = {f: int((np.char.partition(d["clip"].astype(str), "/")[:, 0] == f).sum())
                for f in ("deepmimic", "bandai", "cmu", "holosoma")}
        print(f"{s}: {len(d['uv'])} frames, {len(np.unique(d['clip']))} clips, MediaPipe found "
              f"{100 * d['det_found'].mean():.1f} %; frames by family {fams}")
    cfg = LifterTrainConfig.from_yaml(ROOT / "configs" / "lifter.yaml")
    test_clips = split(load_training_clips(cfg), cfg)[3]
    preds: dict[str, dict[str, np.ndarray]] = {"MediaPipe world landmarks": {s: _mp_world(d) for s, d in sets.items()}}
    synth: dict[str, float] = {}
    for label, w in candidates().items():
        try:
            model = load_lifter(w)
        except StructposeError as e:    # a shipped name whose weights are not on this machine
            print(f"({label}: {e})")
            continue
        preds[label] = {s: lift_renders(model, d) for s, d in sets.items()}
        synth[label] = evaluate(model, test_clips, cfg)["pa_mpjpe_mm"]
        if model.config.world:
            preds[label + " (2D only given)"] = {s: lift_renders(model, d, world=False) for s, d in sets.items()}
    mp = preds["MediaPipe world landmarks"]
    for label in [k for k in preds if k != "MediaPipe world landmarks"]:
        pv = preds[label]
        frames = sets["val"]["det_found"]
        best = min(BLEND, key=lambda a: score_renders(a * pv["val"] + (1 - a) * mp["val"], sets["val"],
                                                   frames)["pa_mpjpe"])
        if 0 < best < 1:
            preds[f"blend {best:.1f} x [{label}] + MediaPipe world"] = {
                s: best * pv[s] + (1 - best) * mp[s] for s in sets}
    common = {s: d["det_found"] & np.all([np.isfinite(p[s]).all((1, 2)) for p in preds.values()], 0)
              for s, d in sets.items()}
    print(f"\nframes scored (MediaPipe found the person, every system has a pose): val {common['val'].sum()}, "
          f"test {common['test'].sum()}\n")
    print("| system | val PA-MPJPE | test MPJPE | test PA-MPJPE | test MPJVE | noise-model test PA-MPJPE |")
    print("|---|---|---|---|---|---|")
    rows = []
    for label, pv in preds.items():
        v = score_renders(pv["val"], sets["val"], common["val"])
        t = score_renders(pv["test"], sets["test"], common["test"])
        rows.append((v["pa_mpjpe"], label, t))
        syn = synth.get(label)
        print(f"| {label} | {v['pa_mpjpe']:.1f} | {t['mpjpe']:.1f} | {t['pa_mpjpe']:.1f} | {t['mpjve']:.1f} | "
              + (f"{syn:.1f} |" if syn is not None else "– |"))
    best = min(rows)
    print(f"\nchosen on val: {best[1]} (val PA-MPJPE {best[0]:.1f} mm; test {best[2]['pa_mpjpe']:.1f} mm)")
    fam = np.char.partition(sets["test"]["clip"].astype(str), "/")[:, 0]
    print("\nTest PA-MPJPE by family:\n\n| system | " + " | ".join(np.unique(fam)) + " |")
    print("|---|" + "---|" * len(np.unique(fam)))
    for label, pv in preds.items():
        cells = [score_renders(pv["test"], sets["test"], common["test"] & (fam == f))["pa_mpjpe"] for f in np.unique(fam)]
        print(f"| {label} | " + " | ".join(f"{c:.1f}" for c in cells) + " |")


if __name__ == "__main__":
    main()
