"""``structpose image IMG... --out DIR``: a 3D pose per photo, an overlay PNG and a 3D view PNG.

For each photo ``NAME.ext`` the folder gets ``NAME.npz`` (a one-frame pose file: camera-frame
metres, the 2D keypoints and their scores), ``NAME_overlay.png`` (the 2D skeleton on the photo) and
``NAME_3d.png`` (the lifted pose seen from the camera and from its right).  A photo without a person
gets a pose file with ``valid = [False]`` (NaN pose) and no PNGs; the command says so in one line
and carries on (exit status 0 if at least one person was found, 1 if none was).
The work is :func:`structpose.pipeline.photo.process_photos`.
"""
from __future__ import annotations

import argparse
import sys

from ._options import add_fov, add_lifter, add_min_score


def _run(args: argparse.Namespace) -> int:
    from ..pipeline.lifting import PoseLifter, detector_lifter
    from ..pipeline.photo import process_photos
    from ._threads import single_threaded
    single_threaded()
    from ..errors import StructposeError
    if args.runtime is not None and args.model != "sapnet":
        raise StructposeError("--runtime chooses SAP-Net's runtime; it has no effect without --model sapnet")
    lifter = PoseLifter(detector_lifter(args.lifter), fov_deg=args.fov, min_score=args.min_score)
    results = process_photos(args.images, args.out, model=args.model, fit=not args.no_fit, lifter=lifter,
                             runtime=args.runtime or "auto")
    if args.model == "sapnet" and results:
        print(f"SAP-Net ran on {results[0].sequence.meta['sapnet_runtime']}", file=sys.stderr)
    for r in results:
        if r.found:
            z = float(r.sequence.poses_3d[0, 0, 2])
            print(f"{r.path}: person found, root depth {z:.2f} m (assuming a {lifter.fov_deg:g} degree field of "
                  f"view); {r.joints_seen}/17 joints seen -> " + ", ".join(str(w) for w in r.written))
        else:
            print(f"{r.path}: no person found (pose file marked invalid: {r.written[0]})", file=sys.stderr)
    return 0 if any(r.found for r in results) else 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("image", help="3D pose per photo: pose file + overlay PNG + 3D view PNG",
                       description="Detect (MediaPipe, offline) and lift one person per photo. Intrinsics are "
                                   "unknown: root depth assumes --fov; the pose itself does not depend on it.")
    p.add_argument("images", nargs="+", metavar="IMG", help="photos (PNG, JPEG, ...)")
    p.add_argument("--out", required=True, help="output folder")
    add_fov(p)
    add_min_score(p)
    p.add_argument("--no-fit", action="store_true", help="skip the symmetric skeleton fit")
    add_lifter(p)
    p.add_argument("--model", choices=["lifter", "sapnet"], default="lifter",
                   help="lifter: MediaPipe 2D + lifter (default); sapnet: SAP-Net on the detected person's box")
    p.add_argument("--runtime", choices=["auto", "onnx", "torch"], default=None,
                   help="SAP-Net's runtime (with --model sapnet): auto (default: ONNX Runtime when installed, "
                        "else torch), onnx, torch")
    p.set_defaults(func=_run)
