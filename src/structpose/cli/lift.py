"""``structpose lift KEYPOINTS --out OUT.npz``: 2D keypoint files -> 3D pose files.

Reads COCO JSON, OpenPose JSON folders, VideoPose3D 2D npz (incl. custom videos), MPII JSON and
structpose pose files (their ``poses_2d``) through :func:`structpose.data.formats.load_keypoints_2d`.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from ..errors import StructposeError
from .world_args import add_world_args, world_line


def _size(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    m = re.fullmatch(r"(\d+)[xX](\d+)", text.strip())
    if not m or int(m[1]) <= 0 or int(m[2]) <= 0:
        raise StructposeError(f"--image-size {text!r}; expected WIDTHxHEIGHT in pixels, e.g. 1920x1080")
    return int(m[1]), int(m[2])


def _run(args: argparse.Namespace) -> int:
    from ..data.formats import load_keypoints_2d
    from ..io.export import export, parse_formats
    from ..io.posefile import save_pose_file
    from ..pipeline._threads import single_threaded
    from ..pipeline.lifting import PoseLifter, lift_sequence
    single_threaded()
    from ..world import check_height
    formats = parse_formats(args.export) if args.export else []
    height = None if args.no_world else check_height(args.height)
    out = Path(args.out)
    if out.suffix != ".npz":
        raise StructposeError(f"--out {out}: the pose file must end in .npz")
    if args.fps is not None:
        from ..errors import check_fps
        check_fps(args.fps, "--fps")
    size_arg = _size(args.image_size)
    if args.tpnet and args.mode == "none":       # accepted and silently unused otherwise
        raise StructposeError("--tpnet has no effect with --mode none (the lifter alone); drop one of them")
    from ..io.export import export_paths
    from ..io.guards import refuse_overwrite
    inputs = {"KEYPOINTS": args.keypoints, "--lifter": args.lifter, "--tpnet": args.tpnet}
    refuse_overwrite({"--out": out, **export_paths(out, [f for f in formats if f != "npz"])}, inputs)
    seqs = load_keypoints_2d(args.keypoints, args.format)
    if args.sequence:
        names = [s.name for s in seqs]
        seqs = [s for s in seqs if s.name == args.sequence]
        if not seqs:
            raise StructposeError(f"no sequence {args.sequence!r} in {args.keypoints}; it holds: {', '.join(names)}")
    lifter = PoseLifter(args.lifter, fov_deg=args.fov, min_score=args.min_score)
    if args.tpnet:       # read (safely) and checked now, even if no frame ends up needing it
        from ..models.tpnet import load_model
        load_model(args.tpnet)
    written = []
    for s in seqs:
        fps = args.fps or s.fps or 30.0
        size = size_arg or s.image_size
        meta = {"source": str(args.keypoints), "sequence": s.name, "fps_assumed": not (args.fps or s.fps)}
        seq = lift_sequence(s.xy, s.scores, fps, size, mode=args.mode, fit=not args.no_fit, lifter=lifter,
                            tpnet=args.tpnet, meta=meta, height=height)
        target = out if len(seqs) == 1 else out.with_name(
            f"{out.stem}-{re.sub(r'[^A-Za-z0-9_.-]+', '_', s.name)}.npz")
        refuse_overwrite({"--out": target, **export_paths(target, [f for f in formats if f != "npz"])}, inputs)
        save_pose_file(target, seq)
        written.append(target)
        if formats:
            written += export(seq, target, [f for f in formats if f != "npz"], name=s.name or "video")
        bad = int((~seq.valid).sum())
        print(f"{s.name or args.keypoints}: {seq.num_frames} frames at {fps:g} fps, {bad} without a liftable pose"
              + (" (fps not in the file: assumed 30; set --fps)" if not (args.fps or s.fps) else ""),
              file=sys.stderr)
        if height is not None:
            print(world_line(seq), file=sys.stderr)
    print("wrote " + ", ".join(str(p) for p in written))
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
    p.add_argument("--mode", default="bidirectional",
                   help="bidirectional (default; bone lengths from the whole sequence), online (causal, as "
                        "`video --mode online`: running-median bone lengths) or none")
    p.add_argument("--no-fit", action="store_true", help="skip skeleton fitting")
    p.add_argument("--fps", type=float, default=None, help="frame rate when the file has none (default 30)")
    p.add_argument("--image-size", default=None, help="WIDTHxHEIGHT when the file has none")
    p.add_argument("--fov", type=float, default=55.0, help="assumed horizontal field of view, degrees")
    p.add_argument("--min-score", type=float, default=0.3, help="joints scored below this are masked")
    p.add_argument("--export", metavar="FMTS", help="also write json,csv,bvh,glb,vp3d beside --out")
    add_world_args(p)
    p.add_argument("--lifter", default=None, help="lifter weights (default: shipped)")
    p.add_argument("--tpnet", default=None, help="TP-Net weights (default: shipped for the mode)")
    p.set_defaults(func=_run)
