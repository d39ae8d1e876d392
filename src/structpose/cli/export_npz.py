"""``structpose export npz [PT ...]``: lifter / TP-Net weights as ``.npz`` for inference without torch."""
from __future__ import annotations

import argparse

from ._groups import group


def register(sub: argparse._SubParsersAction) -> None:
    p = group(sub, "export").add_parser(
        "npz", help="write .npz inference weights (NumPy, no torch) for lifter / TP-Net .pt files",
        description="Convert lifter and TP-Net checkpoints to .npz beside them (same values and dtype; read "
                    "without pickle). Default: every lifter / TP-Net .pt shipped in the package's weights folder. "
                    "video, lift and image run these networks in NumPy from the .npz.")
    p.add_argument("weights", nargs="*", help=".pt files (default: the shipped ones)")
    p.add_argument("--check", action="store_true",
                   help="also run torch and NumPy on the same input and print the largest difference")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..models.npz_infer import export_npz, shipped_weights
    paths = [Path(w) for w in args.weights] or shipped_weights()
    for pt in paths:
        out = export_npz(pt)
        line = f"wrote {out}"
        if args.check:
            line += f" (max |torch - numpy| {_check(pt, out):.1e} m)"
        print(line)
    return 0


def _check(pt, npz) -> float:
    import numpy as np
    import torch

    from ..models.npz_infer import NpzLifter, NpzTPNet, read_npz
    header, _ = read_npz(npz)
    rng = np.random.default_rng(0)
    if header["kind"] == "lifter":
        from ..models.lifter import load_lifter
        xy = rng.normal(0, 100, (8, 17, 2)).astype(np.float32) + 500
        m = np.ones((8, 17), np.float32)
        a = load_lifter(pt).lift(xy, m)
        pose, log_s = NpzLifter.from_file(npz)(xy, m)[:2]
        b = pose * np.exp(log_s)[:, None, None]
    else:
        from ..models.tpnet import load_model
        model = load_model(pt)
        win = rng.normal(0, 0.2, (8, model.window, 17, 3)).astype(np.float32)
        with torch.no_grad():
            a = model(torch.from_numpy(win)).numpy()
        b = NpzTPNet.from_file(npz)(win)
    return float(np.abs(a - b).max())
