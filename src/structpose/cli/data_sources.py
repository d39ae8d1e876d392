"""``structpose data sources`` (what real motion this machine has) and ``structpose data show``
(draw 3D skeletons of a pose file, a BVH file, a dataset file or a source clip, to check by eye)."""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np

from ..errors import StructposeError
from ._groups import group


def register(sub: argparse._SubParsersAction) -> None:
    g = group(sub, "data")
    p = g.add_parser("sources", help="list the real mocap sources found on this machine",
                     description="Real motion sources on this machine: clips, frames, frame rates, duration; "
                                 "what is missing and how to install it.")
    p.add_argument("--json", action="store_true", help="print the table as JSON")
    p.add_argument("--clips", action="store_true", help="also list every clip: frames, fps, duration, split")
    p.set_defaults(func=run_sources)

    s = g.add_parser("show", help="draw 3D skeletons of a pose/BVH/dataset file or a source clip to a PNG",
                     description="Draw 3D skeletons (right red, left blue, camera frame) so a conversion can "
                                 "be checked by eye.  INPUT: a structpose pose file (.npz), a .bvh file, a "
                                 "DeepMimic motion .txt, a holosoma (T, 53, 3) .npy, any 3D file `structpose "
                                 "data convert` reads, or a source clip name such as deepmimic/walk or "
                                 "holosoma/climb_seq_0.")
    s.add_argument("input", help="pose file, .bvh, dataset file, or SOURCE/CLIP")
    s.add_argument("--out", required=True, help="output PNG")
    s.add_argument("--frames", type=_frames, help="comma-separated frame indices, e.g. 0,10,20 (default: 5 "
                                                  "frames spread over the sequence)")
    s.add_argument("--title", help="figure title (default: the input's name)")
    s.add_argument("--sequence", type=int, default=0, help="which sequence of a multi-sequence dataset file")
    s.add_argument("--views", type=int, metavar="N",
                   help="instead: the first --frames frame (default: the middle one) as N random virtual "
                        "cameras image it (the sampler that makes 2D-3D training pairs)")
    s.add_argument("--seed", type=int, default=0, help="random seed of --views")
    s.set_defaults(func=run_show)


def _frames(text: str) -> list[int]:
    if not re.fullmatch(r"\s*\d+(\s*,\s*\d+)*\s*", text):
        raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated frame indices >= 0, e.g. 0,10,20")
    return [int(v) for v in text.split(",")]


def _fmt_fps(rates: list[float]) -> str:
    if not rates:
        return "-"
    return "/".join(f"{r:g}" for r in rates)


def run_sources(args: argparse.Namespace) -> int:
    from ..data.sources import describe_sources
    rows = describe_sources()
    if args.json:
        if args.clips:
            from ..data.sources import load_clips
            from ..data.splits import split_of
            found = [r["source"] for r in rows if r["found"] and r["use"] == "train"]
            rows = rows + [{"clip": c.name, "frames": c.num_frames, "fps": c.fps, "duration_s": c.duration,
                            "split": split_of(c.name)} for c in load_clips(found)]
        print(json.dumps(rows, indent=2))
        return 0
    head = f"{'source':<16}{'use':<11}{'status':<9}{'clips':>6}{'frames':>8}  {'fps':<22}{'duration':>9}"
    print(head)
    print("-" * len(head))
    for r in rows:
        clips = "-" if r["clips"] is None else str(r["clips"])
        frames = "-" if r["frames"] is None else str(r["frames"])
        dur = "-" if r["duration_s"] is None else f"{r['duration_s']:.1f} s"
        status = ("found" if r["found"] else "MISSING") if r["clips"] is not None or not r["found"] else "-"
        print(f"{r['source']:<16}{r['use']:<11}{status:<9}{clips:>6}{frames:>8}  {_fmt_fps(r['fps']):<22}{dur:>9}")
    print()
    for r in rows:
        print(f"{r['source']}: {r['origin']}")
        if "licence" in r:
            print(f"    actors: {r['actors']}; licence: {r['licence']}"
                  f"{'' if r['commercial'] else ' (not all commercially usable)'}")
            print(f"    content: {r['content']}")
    missing = [r for r in rows if not r["found"]]
    for r in missing:
        print(f"MISSING {r['source']}: {r['install']}")
    if not missing:
        print("all sources found.  Splits: structpose.data.splits (by whole clip); eval-only sources are "
              "never trained on.")
    if args.clips:
        from ..data.sources import load_clips
        from ..data.splits import split_of
        found = [r["source"] for r in rows if r["found"] and r["use"] == "train"]
        print(f"\n{'clip':<34}{'frames':>7}{'fps':>7}{'seconds':>9}  split")
        for c in load_clips(found):
            print(f"{c.name:<34}{c.num_frames:>7}{c.fps:>7g}{c.duration:>9.1f}  {split_of(c.name)}")
    return 0


def _show_views(args: argparse.Namespace, poses: np.ndarray, label: str, out: Path) -> int:
    from ..cameras import Y_UP_FLIP, sample_virtual_camera
    from ..viz import save_views_figure
    if not 1 <= args.views <= 16:
        raise StructposeError(f"--views {args.views}: expected 1 to 16 cameras")
    T = poses.shape[0]
    f = args.frames[0] if args.frames else T // 2
    if not -T <= f < T:
        raise StructposeError(f"frame {f} is outside the sequence of {T} frames; expected 0..{T - 1}")
    # camera frame (y down, z forward) -> a Y-up world by a half turn about x (a proper rotation)
    world = poses[f] * Y_UP_FLIP
    if not np.isfinite(world).all():
        raise StructposeError(f"frame {f} has missing joints; choose a complete frame with --frames")
    rng = np.random.default_rng(args.seed)
    cams = [sample_virtual_camera(rng, world) for _ in range(args.views)]
    path = save_views_figure(world, cams, out, title=args.title or f"{label}, frame {f % T}")
    print(f"wrote {path}: frame {f % T} of {label} through {args.views} virtual cameras (seed {args.seed})")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from ..viz import save_skeleton_figure
    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise StructposeError(f"--out {out}: expected a .png file name")
    from ..data.any3d import load_any_3d
    poses, _fps, label = load_any_3d(args.input, args.sequence)
    if args.views is not None:
        return _show_views(args, poses, label, out)
    path = save_skeleton_figure(poses, out, frames=args.frames, title=args.title or label)
    print(f"wrote {path}: {len(args.frames) if args.frames else min(poses.shape[0], 5)} of "
          f"{poses.shape[0]} frames of {label}")
    return 0
