"""``structpose train lifter-motion --config configs/lifter_motion.yaml --out weights.pt [--held-out FAMILY]
[--commercial-only]``: the lifter on every fetched motion source (structpose.train.motion_lifter)."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import StructposeError
from ._groups import group


def _config(path: Path):
    from ..train.checks import dataclass_from_yaml
    from ..train.motion_lifter import MotionLifterConfig
    return dataclass_from_yaml(path, MotionLifterConfig)


def _run(args: argparse.Namespace) -> int:
    from ..train.motion_lifter import FAMILIES, train
    cfg = _config(args.config)
    if args.held_out is not None:
        if args.held_out not in FAMILIES:
            raise StructposeError(f"--held-out {args.held_out!r}; expected one of {', '.join(FAMILIES)}")
        cfg.held_out = args.held_out
    if args.commercial_only:
        cfg.commercial_only = True
    if args.steps is not None:
        if args.steps < 1:
            raise StructposeError(f"--steps {args.steps}; expected at least 1")
        cfg.steps = args.steps
    summary = train(cfg, args.out, log=lambda s: print(s, flush=True))
    print(f"wrote {args.out} (+ .json with sources and licences) in {summary['wall_seconds']:.0f} s")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = group(sub, "train").add_parser(
        "lifter-motion", help="train the lifter on every fetched motion source, sources balanced per batch",
        description="Train the lifter on DeepMimic, holosoma, Bandai and CMU motion (fetch them first: "
                    "`structpose data fetch all`), harmonised to one convention, sources balanced per batch.")
    p.add_argument("--config", type=Path, default=Path("configs/lifter_motion.yaml"), help="YAML training config")
    p.add_argument("--out", type=Path, default=Path("lifter_motion.pt"), help="weights to write (atomically)")
    p.add_argument("--held-out", help="leave this source family out (deepmimic, holosoma, bandai, cmu)")
    p.add_argument("--commercial-only", action="store_true",
                   help="train only on commercially usable clips (no Bandai, no DeepMimic sie/ or amass/)")
    p.add_argument("--steps", type=int, help="override the config's steps")
    p.set_defaults(func=_run)
