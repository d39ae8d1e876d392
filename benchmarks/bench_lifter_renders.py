"""The lifter fine-tuned on MediaPipe's real outputs (Anny renders of training motion) against today's.

Arms, all from the shipped weights, same steps / lr / seed: ``control`` fine-tunes on the noise model only
(so that any gain is not merely extra training); ``mixed F`` draws a fraction F of every batch from render
pairs of *training* clips (weak clips excluded).  Scored on renders of *held-out* (test split) motion,
stills and videos, through the product's lifting path with the true focal length; also on the noise-model
evaluation of :mod:`structpose.train.lifter` (test clips), to see what the change costs there.  MediaPipe's
own world 3D is scored on the same frames.  Needs ``$STRUCTPOSE_DATA/renders/{train,test}_*.npz``.
"""
from __future__ import annotations

import copy
import os
from pathlib import Path

import numpy as np
import torch

from structpose.models.lifter import load_lifter, save_lifter
from structpose.train.lifter import LifterTrainConfig, _frames, evaluate, load_training_clips, split
from structpose.train.lifter_renders import evaluate_renders, finetune, render_samples
from structpose.train.render_pairs import load_pairs

DATA = Path(os.environ.get("STRUCTPOSE_DATA") or Path.home() / ".cache" / "structpose").expanduser() / "renders"
ROOT = Path(__file__).resolve().parent.parent


def _cat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0] if k != "meta"}


def main(steps: int = 1500, seeds: tuple[int, ...] = (0, 1)) -> None:
    torch.set_num_threads(1)
    train_files = [p for p in (DATA / "train_stills.npz", DATA / "train_video.npz") if p.is_file()]
    if not train_files or not (DATA / "test_stills.npz").is_file():
        print(f"(render pairs missing in {DATA}: run `structpose data renders` for train and test first)")
        return
    train = _cat([load_pairs(p) for p in train_files])
    tests = {name: load_pairs(DATA / f"{name}.npz") for name in ("test_stills", "test_video")
             if (DATA / f"{name}.npz").is_file()}
    cfg = LifterTrainConfig.from_yaml(ROOT / "configs" / "lifter.yaml")
    full, _weak, _val, test_clips = split(load_training_clips(cfg), cfg)
    f3 = _frames(full)
    samples = render_samples(train, exclude_clips=tuple(cfg.weak_clips))
    print(f"render training pairs: {len(samples['xy']) // 2} detected frames (+ mirrored), "
          f"from {len(train['uv'])} rendered")
    arms = {"shipped": None, "control (noise model only)": 0.0, "mixed 0.25": 0.25, "mixed 0.5": 0.5}
    results: dict[str, list[dict]] = {}
    for arm, frac in arms.items():
        for seed in (seeds if frac is not None else (0,)):
            model = load_lifter()
            if frac is not None:
                model = finetune(copy.deepcopy(model), cfg, f3, samples, frac, steps=steps, seed=seed,
                                 log=lambda m: None)
                save_lifter(DATA / f"lifter_{arm.split()[0]}_{frac}_{seed}.pt", model)
            row = {"synthetic_test": evaluate(model, test_clips, cfg)}
            for name, pairs in tests.items():
                row[name] = evaluate_renders(model, pairs)
            results.setdefault(arm, []).append(row)
    cols = [("synthetic_test", "pa_mpjpe_mm"), ("synthetic_test", "mpjpe_mm")]
    for name in tests:
        cols += [(name, "lifter_pa_mpjpe_mm"), (name, "lifter_mpjpe_mm")]
    print("\n| arm | " + " | ".join(f"{a} {b.replace('lifter_', '').replace('_mm', '')}" for a, b in cols) + " |")
    print("|---|" + "---|" * len(cols))
    base = {c: np.mean([r[c[0]][c[1]] for r in results["shipped"]]) for c in cols}
    for arm, rows in results.items():
        cells = []
        for c in cols:
            v = [r[c[0]][c[1]] for r in rows]
            cells.append(f"{np.mean(v):.1f}" + (f" ±{np.std(v):.1f}" if len(v) > 1 else "") +
                         (f" ({np.mean(v) / base[c]:.2f}x)" if arm != "shipped" else ""))
        print(f"| {arm} | " + " | ".join(cells) + " |")
    for name in tests:
        r = results["shipped"][0][name]
        print(f"MediaPipe world 3D on {name} ({r['frames']} frames): MPJPE {r['mediapipe_world_mpjpe_mm']:.1f}, "
              f"PA-MPJPE {r['mediapipe_world_pa_mpjpe_mm']:.1f} mm")


if __name__ == "__main__":
    main()
