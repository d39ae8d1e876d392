"""Leave one source out: the lifter on held-out real motion of a source family it never trained on.

Protocol (structpose.data.splits.leave_one_source_out): for each family (deepmimic, holosoma, bandai,
cmu), the test clips of that family (by whole clip / subject / style, never seen in training by any
recipe here) at 30 fps, at most 40 clips (evenly spread over the sorted list) and 300 frames each
(the middle of the clip), each seen through one fixed random camera (bench_lifter's _fixed_view,
seed per clip) with today's detector-like 2D noise.  Ground truth: the clip as its rig records it
("raw") and harmonised to the one H36M-17 convention (structpose.data.harmonise), which is what
the new recipe is taught; MPJPE (root-relative, not rescaled), PA-MPJPE and MPJVE in mm.

Models: today's shipped lifter (src/structpose/weights/lifter.pt: DeepMimic + holosoma train clips, so
NOT leave-one-out on those two families); **today's recipe without the held-out family** (the fair
baseline: RUN_DIR/today_loso_<family>.pt, trained by ``structpose train lifter --config
configs/loso/today_without_<family>.yaml``; for bandai and cmu the shipped lifter itself, which never saw
them); the new recipe without the held-out family (RUN_DIR/loso_<family>[_h<W>b<B>][_s<seed>].pt: every
seed of one size pooled into mean +- std over seeds); the new recipe on all families / commercial clips /
today's two sources (all.pt, all_commercial.pt, today_sources.pt).  Run: ``STRUCTPOSE_MOTION_RUNS=RUN_DIR
python -m benchmarks motion`` (default RUN_DIR: <data folder>/runs/motion); without weights there, only
today's lifter is measured.

Each clip is seen by ``cameras`` fixed cameras (more for the families with few test frames: holosoma has
one test clip), so that one camera does not decide a family's number.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import torch

FAMILIES = ("deepmimic", "holosoma", "bandai", "cmu")


def test_clips(family: str, max_clips: int = 40, max_frames: int = 600):
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


def sequences(family: str, seed: int = 11, target_frames: int = 3000, max_cameras: int = 8):
    """``(name, cam, cam_harmonised, uv)`` per clip and camera: ``round(target_frames / frames)`` cameras
    per clip (1 to ``max_cameras``), the same cameras for every model."""
    from benchmarks.bench_lifter import _fixed_view
    from structpose.train.lifter import LifterTrainConfig, detector_noise
    cfg = LifterTrainConfig(flip=False, bone_jitter=0.0)
    clips = test_clips(family)
    cameras = int(np.clip(round(target_frames / max(1, sum(r.num_frames for r, _ in clips))), 1, max_cameras))
    out = []
    for k, (raw, harm) in enumerate(clips):
        for v in range(cameras):
            g = torch.Generator().manual_seed(seed * 1000 + k + 100_000 * v)
            w = torch.as_tensor(np.array(raw.world, np.float32))
            cam, uv, _ = _fixed_view(w, cfg, g)
            # the same camera for the harmonised ground truth: re-run with the same generator state
            g2 = torch.Generator().manual_seed(seed * 1000 + k + 100_000 * v)
            cam_h, _, _ = _fixed_view(torch.as_tensor(np.array(harm.world, np.float32)), cfg, g2)
            noisy, mask = detector_noise(uv, cfg, g)
            noisy[mask == 0] = float("nan")
            out.append((f"{raw.name}#{v}", cam.numpy(), cam_h.numpy(), noisy.numpy() + 500.0))
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


METRICS = ("raw_mpjpe", "raw_pa_mpjpe", "raw_mpjve", "harm_mpjpe", "harm_pa_mpjpe", "harm_mpjve")


def model_groups(run_dir: Path, fam: str) -> dict[str, list[Path | None]]:
    """Row label -> weight files (one per seed; ``None`` = the shipped lifter)."""
    import re
    groups: dict[str, list[Path | None]] = {"today's shipped lifter": [None]}
    base = run_dir / f"today_loso_{fam}.pt"
    if base.exists():
        groups["today's recipe without it"] = [base]
    elif fam in ("bandai", "cmu"):
        groups["today's recipe without it"] = [None]       # the shipped lifter never saw these families
    sizes: dict[str, list[Path]] = {}
    for f in sorted(run_dir.glob(f"loso_{fam}*.pt")):
        m = re.fullmatch(rf"loso_{fam}(_h\d+b\d+)?(_pb[\d.]+)?(_s\d+)?", f.stem)
        if m:
            sizes.setdefault((m.group(1) or "") + (m.group(2) or ""), []).append(f)
    for tag, files in sizes.items():
        if (run_dir / f"loso_{fam}{tag}_s0.pt").exists():     # an unseeded file is seed 0's older copy
            files = [f for f in files if f.stem != f"loso_{fam}{tag}"]
        size = re.sub(r"_h(\d+)b(\d+)", r"\1x\2", tag) or "512x3"
        size = size.replace("_pb", "512x3, pose balance " if size.startswith("_pb") else ", pose balance ")
        groups[f"new recipe without it, {size} ({len(files)} seed{'s' * (len(files) > 1)})"] = list(files)
    for label, file in (("new recipe, all families (saw its train clips)", "all.pt"),
                        ("new recipe, commercial (saw its train clips)", "all_commercial.pt"),
                        ("new recipe, today's two sources", "today_sources.pt")):
        if (run_dir / file).exists():
            groups[label] = [run_dir / file]
    return groups


def lifter_speed(sizes=((512, 3), (1024, 2), (1024, 3), (2048, 2)), calls: int = 300) -> None:
    """Parameters and ms per frame of the lifter on the product path (NumPy, ``NpzLifter``, one frame per
    call as in streaming video), per size; the weights are random (speed does not depend on them)."""
    from structpose.models.lifter import Lifter, LifterConfig
    from structpose.models.npz_infer import NpzLifter
    rng = np.random.default_rng(0)
    xy = rng.normal(size=(1, 17, 2)).astype(np.float32) * 100
    mask = np.ones((1, 17), np.float32)
    print("\nlifter size on the product path (NumPy, batch 1): median ms per frame over", calls, "calls")
    base = None
    for hidden, blocks in sizes:
        model = Lifter(LifterConfig(hidden=hidden, blocks=blocks))
        npz = NpzLifter({k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}, blocks)
        for _ in range(20):
            npz(xy, mask)
        ts = []
        for _ in range(calls):
            t = time.perf_counter()
            npz(xy, mask)
            ts.append(time.perf_counter() - t)
        ms = 1000 * float(np.median(ts))
        base = base or ms
        print(f"  {hidden:5d} wide x {blocks} blocks: {sum(p.numel() for p in model.parameters()) / 1e6:5.2f} M "
              f"parameters, {ms:.3f} ms/frame ({ms / base:.2f}x 512x3)")


def main() -> None:
    lifter_speed()
    from structpose.data.motion_sources import data_dir
    run_dir = Path(os.environ.get("STRUCTPOSE_MOTION_RUNS", data_dir() / "runs" / "motion"))
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    table: dict[str, dict] = {}
    for fam in FAMILIES:
        seqs = sequences(fam)
        rows: dict[str, dict] = {}
        for label, files in model_groups(run_dir, fam).items():
            runs = [evaluate(f, seqs) for f in files]
            rows[label] = {k: [r[k] for r in runs] for k in (*METRICS, "frames")}
        table[fam] = rows
        base_label = "today's recipe without it" if "today's recipe without it" in rows else "today's shipped lifter"
        base = {k: float(np.mean(v)) for k, v in rows[base_label].items()}
        print(f"\nheld out: {fam} ({int(base['frames'])} frames, {len(seqs)} clip x camera sequences); "
              f"ratios against {base_label!r}")
        print(f"{'model':52s} {'raw MPJPE':>11s} {'PA':>11s} {'MPJVE':>10s} | {'harm. MPJPE':>11s} {'PA':>11s}"
              f" {'MPJVE':>10s} | {'MPJPE':>6s} {'PA':>6s} (harm., x baseline)")
        for label, r in rows.items():
            cells = [f"{np.mean(r[k]):6.1f}" + (f"±{np.std(r[k]):4.1f}" if len(r[k]) > 1 else " " * 5)
                     for k in METRICS]
            print(f"{label:52s} " + " ".join(cells[:3]) + " | " + " ".join(cells[3:]) +
                  f" | {np.mean(r['harm_mpjpe']) / base['harm_mpjpe']:6.3f} "
                  f"{np.mean(r['harm_pa_mpjpe']) / base['harm_pa_mpjpe']:6.3f}")
    print(f"\n({time.perf_counter() - t0:.0f} s)")
    (run_dir / "loso.json").write_text(json.dumps(table, indent=1))


if __name__ == "__main__":
    main()
