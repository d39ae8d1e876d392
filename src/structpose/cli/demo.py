"""``structpose demo``: the whole system on embedded real data, with real errors printed.

1. Real mocap (DeepMimic in pybullet_data, holosoma climbing): the paper's structural-validity
   measures (Table 6) on the ground truth itself — the floor any estimator is judged against.
2. Held-out clips (the test split: motion no model saw in training), each seen by its own sampled
   virtual camera, 2D keypoints corrupted like a detector's (jitter, outliers, missing joints):
   lifter alone -> + TP-Net (online, bidirectional) -> + skeleton fitting, scored against the
   ground truth (MPJPE, PA-MPJPE, MPJVE, bone-length std, symmetry, illegal angles).
3. A real photo (opencv-doc's messi5.jpg, when the Debian package is installed): MediaPipe ->
   lifter, overlay and 3D view PNGs.
Everything lands in ``--out``: pose files of one held-out clip (prediction and ground truth),
figures, and ``summary.json``.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import StructposeError

PHOTO = Path("/usr/share/doc/opencv-doc/examples/data/messi5.jpg")


def _fmt_row(name: str, values: list[str], width: int = 10) -> str:
    return f"  {name:<28}" + "".join(f"{v:>{width}}" for v in values)


def _run(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from ..analysis.demo import held_out_cases, structural_validity, whole_chain
    from ..data.sources import load_clips
    from ..data.splits import split_clips
    from ..io.posefile import PoseSequence, save_pose_file
    from ..viz import save_skeleton_figure

    torch.set_num_threads(2)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise StructposeError(f"--out {out} is a file; give a folder")
    out.mkdir(parents=True, exist_ok=True)
    summary: dict = {}

    print("1. Real mocap: structural validity of the ground truth (Table 6 measures)")
    clips = load_clips(("deepmimic", "holosoma"))
    print(_fmt_row("source", ["clips", "frames", "sym mm", "bone std", "illegal %"]))
    for src in ("deepmimic", "holosoma"):
        cs = [c for c in clips if c.source == src]
        sym, std, ill = structural_validity([c.in_camera() for c in cs])
        frames = sum(c.num_frames for c in cs)
        print(_fmt_row(src, [str(len(cs)), str(frames), f"{sym:.1f}", f"{std:.2f}", f"{ill:.2f}"]))
        summary[f"mocap_{src}"] = {"clips": len(cs), "frames": frames, "symmetry_mm": sym,
                                   "bone_std_mm": std, "illegal_pct": ill}

    test = split_clips(clips)["test"]
    print(f"\n2. Held-out clips ({', '.join(c.name for c in test)}), one virtual camera each, detector-like "
          "2D noise\n   (errors root-relative, millimetres; illegal = % of elbow/knee angles bent the wrong way)")
    cases = held_out_cases(test, args.seed)
    print(_fmt_row("stage", ["MPJPE", "PA-MPJPE", "MPJVE", "bone std", "sym", "illegal %"]))
    keep = None
    for label, r, seqs in whole_chain(cases):
        mm = ["n/a" if r.get(k) is None else f"{1000 * r[k]:.1f}"
              for k in ("mpjpe", "pa_mpjpe", "mpjve", "bone_length_std", "symmetry_error")]
        print(_fmt_row(label, mm + [f"{r['illegal_angle_ratio']:.2f}"]))
        summary[label] = {k: v for k, v in r.items() if isinstance(v, (int, float)) or v is None}
        if label == "+ TP-Net bidir. + fit":
            keep = (cases[0].name, seqs[0], cases[0].gt, cases[0].fps)

    name, seq, gt, fps = keep
    stem = name.replace("/", "_")
    p_pred = save_pose_file(out / f"{stem}_pred.npz", seq)
    p_gt = save_pose_file(out / f"{stem}_gt.npz", PoseSequence(poses_3d=gt, fps=fps, meta={"source": name}))
    T = len(gt)
    frames = sorted(set(np.linspace(0, T - 1, 4).round().astype(int).tolist()))
    fig_pred = save_skeleton_figure(seq.poses_3d, out / f"{stem}_pred.png", frames=frames,
                                    title=f"{name}: lifter + TP-Net (bidirectional) + fit, from noisy 2D")
    fig_gt = save_skeleton_figure(gt, out / f"{stem}_gt.png", frames=frames, title=f"{name}: ground truth")
    from ..viewer import write_viewer
    page = write_viewer(out / f"{stem}_pred.html", seq)
    print(f"   wrote {p_pred}, {p_gt}, {fig_pred}, {fig_gt}, {page} (open it in a browser)")
    print(f"   compare them yourself: structpose evaluate {p_pred} {p_gt}")

    print("\n3. A real photo")
    if not PHOTO.is_file():
        print(f"   {PHOTO} not found: install Debian's opencv-doc (`make setup` does) to run this step")
        summary["photo"] = None
    else:
        from . import main as cli_main
        rc = cli_main(["image", str(PHOTO), "--out", str(out / "photo")])
        summary["photo"] = {"path": str(PHOTO), "exit": rc}
    from ..io.atomic import atomic_path
    with atomic_path(out / "summary.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2, default=float))
    print(f"\nsummary: {out / 'summary.json'}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the whole system on embedded real data and print real errors",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="demo_out", help="output folder (default: demo_out)")
    p.add_argument("--seed", type=int, default=0, help="seed of the virtual cameras and 2D noise")
    p.set_defaults(func=_run)
