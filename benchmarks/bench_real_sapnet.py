"""SAP-Net on real pixels: capsule-trained against Anny + real-frame-trained weights, side by side (issue 13).

Rows per weights file (``benchmarks/models/sapnet_realtime*.pt`` -- the capsule-trained weights shipped
before --, ``src/structpose/weights/sapnet_realtime*.pt`` and any runs named by ``SAP13_WEIGHTS``, comma-separated): 2D PCK@0.2 torso and median error (torso heights) against MediaPipe pseudo-labels on
real photos no SAP-Net trained on (opencv-doc messi5 / basketball1 / basketball2, every 5th frame of
Pose2Sim's four views); 2D against the leave-one-view-out triangulated reference on Pose2Sim, with
MediaPipe's own error on the same frames and the ratio (target <= 1.5); 3D on the real-pixels benchmark
(the ``image --model sapnet`` row); and held-out Anny renders of test-split motion (if the crop set exists).
Writes ``docs/sapnet_real_photos.md`` and ``docs/images/sapnet_real_overlays.png``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "src" / "structpose" / "weights"


def _candidates() -> dict[str, Path]:
    out = {p.name: p for p in sorted((ROOT / "benchmarks" / "models").glob("sapnet_realtime*.pt"))}
    out.update({p.name: p for p in sorted(WEIGHTS.glob("sapnet_realtime*.pt"))})
    extra = os.environ.get("SAP13_WEIGHTS")
    if extra:
        for item in extra.split(","):
            out[Path(item).parent.name + "/" + Path(item).name] = Path(item)
    return out


def main() -> None:
    from structpose.analysis.sapnet_real import evaluate, overlay_figure
    from structpose.data.holosoma import data_dir
    from structpose.io.atomic import atomic_path
    from structpose.models.sapnet import load_weights
    from structpose.train.sapnet_crops import eval_arrays, load_crops
    from structpose.train.sapnet_data import evaluate as eval_renders
    torch.set_num_threads(1)
    weights = _candidates()
    res = evaluate({k: str(v) for k, v in weights.items()})
    overlays = res.pop("overlays")
    test = data_dir() / "sap13" / "anny_test.npz"
    renders = {}
    if test.is_file():
        arrays = eval_arrays(load_crops(test), 128)
        for k, p in weights.items():
            net, bone_sum, _ = load_weights(p)
            renders[k] = eval_renders(net.eval(), arrays, bone_sum)
    mp = res["mediapipe_reference"]
    c = res["counts"]
    L = ["# SAP-Net on real pixels: capsule-trained vs Anny + real-frame-trained", "",
         ("Written by `python -m benchmarks real_sapnet` (`benchmarks/bench_real_sapnet.py`); notes by hand in "
         "`docs/sapnet_results.md`.  MediaPipe supplies only the person's box (the product's "
         "`image --model sapnet` path); nobody in these images is in any SAP-Net training set."), "",
         (f"* **vs MediaPipe pseudo-labels**: {c['photos']} opencv-doc photos + every 5th frame of Pose2Sim's 4 "
         f"views ({c['pseudo_samples']} images), limb joints with visibility >= 0.5; error in the pseudo-label's "
         "torso heights."),
         (f"* **vs triangulated reference**: Pose2Sim, each view's reference triangulated from the *other three* "
         f"views' MediaPipe 2D ({c['reference_frames']} frames), 12 compared joints; MediaPipe's own per-frame "
         f"2D on the same frames: median {mp['median_err']:.3f} torso, PCK@0.2 {mp['pck']:.3f}."),
         ("* **real-pixels 3D**: the `image --model sapnet` row of `docs/real_pixels.md` with these weights "
         "(mm, 12 compared joints, hip-rooted, per-photo symmetric fit)."),
         ("* **held-out renders**: Anny renders of test-split motion (realistic effects on), 128² product crops; "
         "MPJPE / PA-MPJPE root-relative after bone-sum scaling (Zhou / Dabral protocol)."), "",
         ("| weights | pseudo PCK@0.2 | pseudo median (torso) | photos only PCK | ref. PCK@0.2 | ref. median (torso) | "
         "ratio to MediaPipe | L/R swaps | real-pixels MPJPE | real-pixels PA-MPJPE | renders MPJPE | renders PA | "
         "renders PCK@0.05 |"),
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for k in weights:
        r = res[k]
        rr = renders.get(k, {})
        L.append(f"| {k} | {r['pseudo']['pck']:.3f} | {r['pseudo']['median_err']:.3f} | "
                 f"{r['pseudo_photos']['pck']:.3f} | {r['reference']['pck']:.3f} | "
                 f"{r['reference']['median_err']:.3f} | {r['reference_ratio']:.2f}x | {r['reference']['swap_rate']:.3f} | "
                 f"{r['real_pixels']['mpjpe']:.1f} | {r['real_pixels']['pa_mpjpe']:.1f} | "
                 f"{rr.get('mpjpe_mm', np.nan):.1f} | {rr.get('pa_mpjpe_mm', np.nan):.1f} | "
                 f"{rr.get('pck2d_0.05', np.nan):.3f} |")
    L += ["", (f"MediaPipe (per-frame) against the same reference: median {mp['median_err']:.3f} torso heights, "
          f"PCK@0.2 {mp['pck']:.3f}, swaps {mp['swap_rate']:.3f}."), "",
          "![overlays](images/sapnet_real_overlays.png)", "",
          "*MediaPipe green; " + ", ".join(f"{k} {col}" for k, col in zip(weights, ("red", "blue"))) + ".*", ""]
    doc = ROOT / "docs" / "sapnet_real_photos.md"
    with atomic_path(doc) as tmp:
        Path(tmp).write_text("\n".join(L))
    overlay_figure(overlays, list(weights)[:2], ROOT / "docs" / "images" / "sapnet_real_overlays.png")
    with atomic_path(ROOT / "docs" / "sapnet_real_photos.json") as tmp:
        Path(tmp).write_text(json.dumps({"results": res, "renders": renders}, indent=1, default=float))
    print("\n".join(L))
