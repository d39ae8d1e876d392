"""``structpose train lifter-world --config configs/lifter_world.yaml --out weights.pt``: the lifter fine-tuned
on MediaPipe's outputs on renders of real motion, optionally fed MediaPipe's world landmarks
(structpose.train.lifter_world)."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import StructposeError
from ._groups import group


def _run(args: argparse.Namespace) -> int:
    from ..train.lifter_world import read_config, train
    cfg = read_config(args.config)
    if args.commercial_only:
        cfg.commercial_only = True
    if args.steps is not None:
        if args.steps < 1:
            raise StructposeError(f"--steps {args.steps}; expected at least 1")
        cfg.steps = args.steps
    if not str(args.out).endswith(".pt"):
        raise StructposeError(f"--out {args.out}: expected a .pt file name")
    summary = train(cfg, args.out, log=lambda s: print(s, flush=True))
    print(f"wrote {args.out} (+ .json with sources and licences) in {summary['wall_seconds']:.0f} s")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = group(sub, "train").add_parser(
        "lifter-world", help="fine-tune the lifter on MediaPipe-on-renders pairs, optionally fed its world landmarks",
        description="Fine-tune a lifter on (MediaPipe 2D [+ world landmarks] -> true 3D) pairs of Anny renders of "
                    "real motion (`structpose data renders --chunks DIR`), mixed with today's noise model.")
    p.add_argument("--config", type=Path, default=Path("configs/lifter_world.yaml"), help="YAML training config")
    p.add_argument("--out", type=Path, default=Path("lifter_world.pt"), help="weights to write (atomically)")
    p.add_argument("--commercial-only", action="store_true",
                   help="only render frames of commercially usable motion (no Bandai, no DeepMimic sie/ or amass/)")
    p.add_argument("--steps", type=int, help="override the config's steps")
    p.set_defaults(func=_run)
