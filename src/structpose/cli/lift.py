"""``structpose lift KEYPOINTS --out OUT.npz``: 2D keypoint files -> 3D pose files.

Reads COCO JSON, OpenPose JSON folders, VideoPose3D 2D npz (incl. custom videos), MPII JSON and
structpose pose files (their ``poses_2d``) through :func:`structpose.data.formats.load_keypoints_2d`.
"""
from __future__ import annotations

import argparse
import re
import sys

from ..errors import StructposeError
from ._options import add_fov, add_lifter, add_min_score, add_mode
from .world_args import add_world_args, world_line


def _size(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    m = re.fullmatch(r"(\d+)[xX](\d+)", text.strip())
    if not m or int(m[1]) <= 0 or int(m[2]) <= 0:
        raise StructposeError(f"--image-size {text!r}; expected WIDTHxHEIGHT in pixels, e.g. 1920x1080")
    return int(m[1]), int(m[2])


def _run(args: argparse.Namespace) -> int:
    from ..io.export import parse_formats
    from ..pipeline.lifting import PoseLifter, lift_file
    from ._threads import single_threaded
    single_threaded()
    from ..world import check_height
    formats = parse_formats(args.export) if args.export else []
    height = None if args.no_world else check_height(args.height)
    size = _size(args.image_size)
    from ..io.guards import refuse_overwrite
    refuse_overwrite({"--out": args.out}, {"--lifter": args.lifter})
    lifter = PoseLifter(args.lifter, fov_deg=args.fov, min_score=args.min_score)
    results = lift_file(args.keypoints, args.out, fmt=args.format, sequence=args.sequence, mode=args.mode,
                        fit=not args.no_fit, fps=args.fps, image_size=size, lifter=lifter, tpnet=args.tpnet,
                        formats=formats, height=height)
    for r in results:
        seq = r.sequence
        print(f"{r.name or args.keypoints}: {seq.num_frames} frames at {seq.fps:g} fps, "
              f"{int((~seq.valid).sum())} without a liftable pose"
              + (" (fps not in the file: assumed 30; set --fps)" if r.fps_assumed else ""), file=sys.stderr)
        if height is not None:
            print(world_line(seq), file=sys.stderr)
    print("wrote " + ", ".join(str(p) for r in results for p in r.written))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lift", help="2D keypoint file -> 3D pose file (lifter -> TP-Net -> fit)",
                       description="Lift 2D keypoints (COCO JSON, OpenPose folder, VideoPose3D 2D npz, MPII, "
                                   "pose file) to 3D. Intrinsics are unknown: the pose is root-relative metres "
                                   "at average body size; root depth assumes --fov.")
    p.add_argument("keypoints", metavar="KEYPOINTS", help="keypoint file or OpenPose folder")
    p.add_argument("--out", required=True, help="pose file to write (.npz); one file per sequence if several")
    p.add_argument("--format", default=None, help="input format (default: detected from the file)")
    p.add_argument("--sequence", default=None, help="only this sequence of a multi-sequence file")
    add_mode(p, "bidirectional", "bidirectional (default; bone lengths from the whole sequence), online (causal, "
                                 "as `video --mode online`: running-median bone lengths) or none")
    p.add_argument("--no-fit", action="store_true", help="skip skeleton fitting")
    p.add_argument("--fps", type=float, default=None, help="frame rate when the file has none (default 30)")
    p.add_argument("--image-size", default=None, help="WIDTHxHEIGHT when the file has none")
    add_fov(p)
    add_min_score(p)
    p.add_argument("--export", metavar="FMTS", help="also write json,csv,bvh,glb,vp3d beside --out")
    add_world_args(p)
    add_lifter(p)
    p.add_argument("--tpnet", default=None, help="TP-Net weights (default: shipped for the mode)")
    p.set_defaults(func=_run)
