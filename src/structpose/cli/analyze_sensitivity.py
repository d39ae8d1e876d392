"""``structpose analyze sensitivity --out DIR [--mode online|bidirectional] [--model PT]`` (paper Fig. 5)."""
from __future__ import annotations

import argparse

from ._groups import group
from ._options import add_mode


def register(sub: argparse._SubParsersAction) -> None:
    p = group(sub, "analyze").add_parser(
        "sensitivity", help="TP-Net's sensitivity to each input joint and time offset (Fig. 5)",
        description="Perturb each joint of each frame of TP-Net's input window (held-out real motion + the "
                    "error model) and measure the output's response. Writes sensitivity.npz (raw (N,17,17) "
                    "array, offsets, joint names) and PNG heatmaps: temporal, joint-to-joint at t=0 and t=-1.")
    p.add_argument("--out", required=True, help="output folder")
    add_mode(p, "online", "which shipped model", choices=("online", "bidirectional"))
    p.add_argument("--model", metavar="PT", help="a trained model instead of the shipped one")
    p.add_argument("--samples", type=int, default=256, help="number of test windows (default 256)")
    p.add_argument("--sigma", type=float, default=0.01, help="perturbation std in metres (default 0.01)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import math

    import torch

    from ..analysis.sensitivity import run_analysis
    from ..errors import StructposeError
    from ..models.tpnet import load_model, pretrained
    if not 1 <= args.samples <= 100_000:
        raise StructposeError(f"--samples {args.samples}; expected 1..100000")
    if not (math.isfinite(args.sigma) and 0 < args.sigma <= 1.0):
        raise StructposeError(f"--sigma {args.sigma}; expected a perturbation in metres, > 0 and <= 1 (default 0.01)")
    if args.seed < 0:
        raise StructposeError(f"--seed {args.seed}; expected an integer >= 0")
    torch.set_num_threads(2)
    model = load_model(args.model) if args.model else pretrained(args.mode)
    for p in run_analysis(model, args.out, args.samples, args.sigma, args.seed):
        print(p)
    return 0
