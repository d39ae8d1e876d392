"""``structpose data convert INPUT --out OUT.npz``: any dataset format -> a structpose pose file."""
from __future__ import annotations

import argparse
import re

from ..errors import StructposeError
from ._groups import group

_EPILOG = """formats (auto-detected; force with --format):
  vp3d_3d       VideoPose3D data_3d_h36m.npz (world, Z up -> front camera or --camera-file)
  vp3d_2d       VideoPose3D data_2d_h36m_*.npz, incl. 'custom' detector entries
  mmpose_h36m   mmpose h36m_{train,test}.npz (camera frame; --camera-file cameras.pkl adds intrinsics)
  mpi_inf_3dhp  MPI-INF-3DHP annot.mat (train, 14 cameras) / annot_data.mat (test, HDF5)
  mpii          MPII annotation JSON list (2D)
  coco          COCO keypoints JSON, ground truth or detector results (2D)
  openpose      folder of OpenPose per-frame JSON, BODY_25 or COCO-18 (2D)
  posefile      a structpose pose file (e.g. to resample with --fps)
  bvh, deepmimic, amc   mocap: BVH, DeepMimic JSON, ASF/AMC (CMU; the .asf beside the .amc; 120 fps)

Output: H36M-17, metres, camera frame (x right, y down, z forward).  2D-only inputs give a file
with poses_2d and NaN poses_3d (meta has_3d = false): run `structpose lift` on it.
Files holding several sequences need --subject/--action/--camera (or --all); --list shows what is inside."""


def _size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*[xX,]\s*(\d+)\s*", text)
    if not m or not (0 < int(m[1]) <= 100_000 and 0 < int(m[2]) <= 100_000):
        raise argparse.ArgumentTypeError(f"{text!r}: expected WIDTHxHEIGHT, e.g. 1920x1080")
    return int(m[1]), int(m[2])


def _fps(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number of frames per second") from None
    from ..errors import FPS_MAX, FPS_MIN
    if not FPS_MIN <= v <= FPS_MAX:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a frame rate between {FPS_MIN:g} and {FPS_MAX:g}")
    return v


def register(sub: argparse._SubParsersAction) -> None:
    p = group(sub, "data").add_parser(
        "convert", help="convert a dataset file (H36M, 3DHP, MPII, COCO, OpenPose, VideoPose3D) to a pose file",
        description="Convert a dataset file or OpenPose folder to a structpose pose file.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", help="dataset file, or an OpenPose output folder")
    p.add_argument("--out", help="output pose file (.npz); required unless --list")
    p.add_argument("--format", dest="fmt", help="input format (default: detected)")
    p.add_argument("--subject", help="subject (or video) to convert, e.g. S9")
    p.add_argument("--action", help="action to convert, e.g. 'Walking 1' (VideoPose3D), Seq1 (3DHP)")
    p.add_argument("--camera", help="camera id or index (H36M 54138969 or 0-3; 3DHP 0-13)")
    p.add_argument("--camera-file", help="mmpose cameras.pkl: the dataset's cameras for world-frame 3D")
    p.add_argument("--fps", type=_fps, help="frame rate: resamples, or sets it where the file has none")
    p.add_argument("--image-size", type=_size, help="WIDTHxHEIGHT where the file does not record it")
    p.add_argument("--universal", action="store_true",
                   help="3DHP: use univ_annot3 (height-normalised skeleton) instead of annot3")
    p.add_argument("--list", action="store_true", help="print the sequences inside INPUT and exit")
    p.add_argument("--all", action="store_true",
                   help="convert every sequence (matching --subject/--action/--camera if given) into the "
                        "folder --out, one <name>.npz each")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..data.convert import convert_all, convert_file, describe
    from ..data.formats import FORMATS, check_format, detect_format, load_keypoints_2d, load_motion_3d
    if args.list:
        fmt = check_format(args.fmt) if args.fmt else detect_format(args.input)
        items = (load_motion_3d(args.input, fmt, universal=args.universal) if FORMATS[fmt].has_3d
                 else load_keypoints_2d(args.input, fmt))
        text = "\n".join([f"{args.input}: {FORMATS[fmt].description}; {len(items)} sequence(s)"]
                         + [f"  {line}" for line in describe(items)])
        try:
            print(text, flush=True)
        except BrokenPipeError:          # `... --list | head` closed the pipe: not an error
            import os
            import sys
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    if not args.out:
        raise StructposeError("--out OUT.npz is required (or --list to see what INPUT holds)")
    if args.all:
        done = convert_all(args.input, args.out, fmt=args.fmt, subject=args.subject, action=args.action,
                           camera=args.camera, camera_file=args.camera_file, fps=args.fps,
                           image_size=args.image_size, universal=args.universal)
        frames = sum(r.sequence.num_frames for r in done)
        print(f"wrote {len(done)} pose files ({frames} frames) to {args.out}/ from {done[0].source_format}")
        return 0
    res = convert_file(args.input, args.out, fmt=args.fmt, subject=args.subject, action=args.action,
                       camera=args.camera, camera_file=args.camera_file, fps=args.fps,
                       image_size=args.image_size, universal=args.universal)
    s = res.sequence
    what = "3D + 2D" if s.meta.get("has_3d") and s.poses_2d is not None else ("3D" if s.meta.get("has_3d") else "2D only")
    print(f"wrote {res.path}: {s.num_frames} frames at {s.fps:g} fps, {what}, from {res.source_format} "
          f"({s.meta.get('name', '')}); {s.meta.get('frame', 'camera frame') if s.meta.get('has_3d') else 'run `structpose lift` next'}")
    return 0
