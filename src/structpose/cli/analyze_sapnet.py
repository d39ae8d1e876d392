"""SAP-Net on rendered videos of real mocap (a stand-in for Human3.6M):

``structpose analyze sapnet-eval OUT.json WEIGHTS... [--split test|val] [--frames N] [--tpnet LABEL=PATH]``,
``structpose analyze sapnet-figures WEIGHTS RUNS_DIR OUT_DIR`` and
``structpose data pairs OUT.npz WEIGHTS [--split ...] [--clips 3d|all] [--scenes N] [--frames N]`` (TP-Net's
training pairs).  The work is :mod:`structpose.analysis.sapnet_eval`.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ._groups import group


def _at_least_one(text: str) -> int:
    v = int(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"{v}; expected an integer >= 1")
    return v


def register(sub: argparse._SubParsersAction) -> None:
    e = group(sub, "analyze").add_parser(
        "sapnet-eval", help="score SAP-Net weights (alone and + TP-Net) on held-out rendered videos -> JSON",
        description="Held-out evaluation of SAP-Net weights files on rendered videos of the test (or val) "
                    "clips, alone and followed by TP-Net; one table row per weights file.")
    e.add_argument("out", help="JSON file to write")
    e.add_argument("weights", nargs="+", help="SAP-Net weights files")
    e.add_argument("--split", default="test", choices=["test", "val"])
    e.add_argument("--frames", type=_at_least_one, default=90, help="first N frames (30 fps) of each clip")
    e.add_argument("--tpnet", action="append", default=[], metavar="LABEL=PATH",
                   help="also refine with this TP-Net model (repeatable)")
    e.set_defaults(func=run_eval)
    f = group(sub, "analyze").add_parser("sapnet-figures", help="draw the SAP-Net docs figures",
                                         description="Draw docs/sapnet_*.png from weights and training runs.")
    f.add_argument("weights")
    f.add_argument("runs", help="folder of the stage runs (stage1..stage4 with log.csv)")
    f.add_argument("out_dir")
    f.set_defaults(func=run_figures)
    pr = group(sub, "data").add_parser(
        "pairs", help="SAP-Net predictions + ground truth on rendered videos -> npz for TP-Net training",
        description="SAP-Net's per-frame predictions on rendered videos of training clips, with the ground "
                    "truth: TP-Net's training pairs (train tpnet's 'pairs').")
    pr.add_argument("out")
    pr.add_argument("weights")
    pr.add_argument("--split", default="train", choices=["train", "val", "test"])
    pr.add_argument("--clips", default="3d", choices=["3d", "all"],
                    help="train split: the 3D set's clips (the paper's H36M role) or every train clip")
    pr.add_argument("--scenes", type=_at_least_one, default=1, help="rendered scenes (views, bodies) per clip")
    pr.add_argument("--frames", type=_at_least_one, default=300, help="first N frames (30 fps) of each clip")
    pr.set_defaults(func=run_pairs)


def run_eval(args: argparse.Namespace) -> int:
    from ..analysis.sapnet_eval import evaluate_files
    from ..errors import StructposeError
    refiners = {}
    for item in args.tpnet:
        label, sep, path = item.partition("=")
        if not sep or not label or not Path(path).is_file():
            raise StructposeError(f"--tpnet {item!r}; expected LABEL=PATH to an existing TP-Net model")
        refiners[label] = path
    for r in evaluate_files(args.out, args.weights, args.split, args.frames, refiners):
        line = f"{r['weights']}: SAP-Net MPJPE {r['sapnet']['mpjpe_mm']:.1f} / PA {r['sapnet']['pa_mpjpe_mm']:.1f} mm"
        for k, v in r.items():
            if k.startswith(("sapnet+", "gt2d")):
                line += f"; {k} {v['mpjpe_mm']:.1f} / {v['pa_mpjpe_mm']:.1f}"
        line += f"; illegal {r['illegal_pct']['sapnet']:.1f} %"
        print(line)
    return 0


def run_figures(args: argparse.Namespace) -> int:
    from ..analysis.sapnet_eval import make_figures
    for p in make_figures(args.weights, args.runs, args.out_dir):
        print(f"wrote {p}")
    return 0


def run_pairs(args: argparse.Namespace) -> int:
    from ..analysis.sapnet_eval import write_pairs
    from ..train.sapnet_data import CLIPS_3D
    names = CLIPS_3D if args.split == "train" and args.clips == "3d" else None
    n = write_pairs(args.out, args.weights, args.split, names, args.scenes, args.frames)
    print(f"wrote {args.out}: {n} frames")
    return 0
