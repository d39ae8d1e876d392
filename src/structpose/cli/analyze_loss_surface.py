"""``structpose analyze loss-surface --out DIR`` (paper Fig. 4)."""
from __future__ import annotations

import argparse

from ._groups import group


def register(sub: argparse._SubParsersAction) -> None:
    p = group(sub, "analyze").add_parser(
        "loss-surface", help="loss surfaces around a real pose as the left elbow moves (Fig. 4)",
        description="Move the left elbow of a real DeepMimic pose over an (x, z) grid, everything else fixed, "
                    "and evaluate (a) the 2D location loss, (b) + symmetry, (c) + symmetry + illegal angle, "
                    "(d) the full 3D loss. Writes loss_surface.png and loss_surface.npz (raw arrays) to DIR.")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--clip", help="DeepMimic clip (e.g. dance_b); default: the frame with the most clearly "
                                  "bent left elbow over all clips")
    p.add_argument("--frame", type=int, help="frame index within --clip")
    p.add_argument("--steps", type=int, default=121, help="grid points per axis (default 121)")
    p.add_argument("--half-width", type=float, default=0.5, help="grid half width in metres (default 0.5)")
    p.add_argument("--lambda-s", type=float, default=0.05, help="symmetry weight (paper: 0.05)")
    p.add_argument("--lambda-a", type=float, default=0.03, help="illegal-angle weight (paper: 0.03)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..analysis.loss_surface import PANELS, compute_loss_surface, pick_pose, plot, save_npz
    from ..data import deepmimic
    from ..errors import StructposeError

    if args.frame is not None and args.clip is None:
        raise StructposeError("--frame needs --clip (which clip's frame?)")
    for name in ("lambda_s", "lambda_a"):
        if not getattr(args, name) >= 0:
            raise StructposeError(f"--{name.replace('_', '-')} is {getattr(args, name)}; expected >= 0")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise StructposeError(f"--out {out} is a file; give a folder")
    pose, source = pick_pose(deepmimic.load_all(), args.clip, args.frame)
    s = compute_loss_surface(pose, source, half_width=args.half_width, steps=args.steps,
                             lambda_s=args.lambda_s, lambda_a=args.lambda_a)
    npz = save_npz(s, out / "loss_surface.npz")
    png = plot(s, out / "loss_surface.png")
    print(f"pose: {source}; left elbow moved over {args.steps}x{args.steps} points, +-{args.half_width} m "
          f"(units: RMS radius {s.scale * 1000:.0f} mm)")
    names = sorted(s.points)
    print(f"  {'loss':<34s}" + "".join(f"{n:>12s}" for n in names))
    for panel in PANELS:
        print(f"  {panel:<34s}" + "".join(f"{s.surfaces[panel][s.at(*s.points[n])]:12.5f}" for n in names))
    print(f"  {'La (raw)':<34s}" + "".join(f"{s.illegal[s.at(*s.points[n])]:12.5f}" for n in names))
    print(f"  {'Ls (raw)':<34s}" + "".join(f"{s.symmetry[s.at(*s.points[n])]:12.5f}" for n in names))
    print(npz)
    print(png)
    return 0
