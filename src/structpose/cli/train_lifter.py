"""``structpose train lifter --config configs/lifter.yaml --out weights.pt``."""
from __future__ import annotations

import argparse
from pathlib import Path

from ._groups import group


def _run(args: argparse.Namespace) -> int:
    from ..train.lifter import LifterTrainConfig, train
    cfg = LifterTrainConfig.from_yaml(args.config)
    if args.seed is not None:
        cfg.seed = args.seed
    if args.threads is not None:
        cfg.threads = args.threads
    if args.steps_scale != 1.0:
        for st in cfg.stages:
            st.steps = max(1, round(st.steps * args.steps_scale))
    import torch
    torch.set_num_threads(max(1, cfg.threads))            # the command owns the process's threads
    summary = train(cfg, args.out, log=lambda s: print(s, flush=True))
    print(f"wrote {args.out} (+ .yaml config, .json log) in {summary['wall_seconds']:.0f} s")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = group(sub, "train").add_parser(
        "lifter", help="train the 2D->3D lifter (3D + weak structure-aware supervision, in stages)",
        description="Train the lifter on real mocap through virtual cameras; see configs/lifter.yaml.")
    p.add_argument("--config", type=Path, default=Path("configs/lifter.yaml"), help="YAML training config")
    p.add_argument("--out", type=Path, default=Path("lifter.pt"), help="checkpoint to write (atomically)")
    p.add_argument("--seed", type=int, default=None, help="override the config's seed")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: config)")
    p.add_argument("--steps-scale", type=float, default=1.0, help="multiply every stage's steps (quick runs)")
    p.set_defaults(func=_run)
