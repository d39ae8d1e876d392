"""``structpose refine IN.npz --out OUT.npz [--mode online|bidirectional] [--fit-skeleton] [--bone-lengths FILE]``.

Temporal refinement of a pose file with TP-Net (shipped weights unless ``--model``), then optional
skeleton fitting.  Any frame rate: TP-Net reads its 30 fps windows from the input by interpolating
in time, and writes one output frame per input frame (see :mod:`structpose.pipeline.refiner`,
which also documents the policy for missing frames and joints).  The work is
:func:`structpose.pipeline.refiner.refine_file`.
"""
from __future__ import annotations

import argparse

from ._options import add_mode


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "refine", help="temporally refine a 3D pose file with TP-Net (+ skeleton fitting)",
        description="Refine the 3D poses of a structpose pose file (.npz) with TP-Net. Works at any frame rate: "
                    "the model's 30 fps windows are interpolated from the input, one output frame per input "
                    "frame. Missing frames (NaN) up to 0.5 s are bridged (online: hold; bidirectional: "
                    "interpolate) and become valid (listed in meta['refine']['bridged_frames']); longer gaps "
                    "stay NaN. A 1-frame file is refined from a window repeating it.")
    p.add_argument("input", help="pose file (.npz) with poses_3d (T,17,3) metres and fps")
    p.add_argument("--out", required=True, help="output pose file (.npz)")
    add_mode(p, "online", "online: past frames only (lag 0); bidirectional: past and future frames "
                          "(shipped: 5 past + 4 future model frames at 30 fps, lag 4)",
             choices=("online", "bidirectional"))
    p.add_argument("--fit-skeleton", action="store_true",
                   help="impose left/right-symmetric bone lengths: the median over the sequence (online: over the "
                        "last 10 s, causal), or --bone-lengths")
    p.add_argument("--bone-lengths", metavar="FILE",
                   help="subject bone lengths in metres: .json (list of 16, or {child_joint: length}), "
                        ".npy/.txt (16 numbers, H36M-17 bone order) or a pose file (.npz: its symmetrised median, "
                        "the policy of structpose.fitting)")
    p.add_argument("--model", metavar="PT", help="a model from `structpose train tpnet` instead of the shipped one")
    p.add_argument("--fps", type=float, help="frame rate for a pose file that lacks one (or to override it)")
    p.add_argument("--max-gap", type=float, default=0.5, metavar="S",
                   help="longest run of missing frames (seconds) to bridge (default 0.5)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..pipeline.refiner import refine_file
    seq, bridged = refine_file(args.input, args.out, mode=args.mode, fit=args.fit_skeleton,
                               bone_lengths=args.bone_lengths, model=args.model, fps=args.fps,
                               max_gap_s=args.max_gap)
    fitted = bool(args.fit_skeleton or args.bone_lengths)
    print(f"refined {seq.num_frames} frames at {seq.fps:g} fps ({args.mode}"
          f"{', skeleton fitted' if fitted else ''}); {int((~seq.valid).sum())} frames without a pose"
          f"{f', {len(bridged)} missing input frames bridged (gaps <= {args.max_gap:g} s)' if len(bridged) else ''}"
          f" -> {args.out}")
    return 0
