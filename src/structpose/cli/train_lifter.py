"""``structpose train lifter --config configs/lifter.yaml --out weights.pt``."""
from __future__ import annotations

import argparse
from pathlib import Path

from ._groups import group


def _run(args: argparse.Namespace) -> int:
    from ..errors import StructposeError
    from ..io.guards import refuse_overwrite
    from ..train.lifter import LifterTrainConfig, output_paths, train
    if not args.steps_scale > 0 or args.steps_scale > 1e6:
        raise StructposeError(f"--steps-scale {args.steps_scale}; expected a number > 0")
    outs = output_paths(args.out)
    if args.out.suffix in (".yaml", ".yml", ".json") or str(args.out).endswith(".ckpt.pt"):
        raise StructposeError(f"--out {args.out}: the weights file needs its own name (e.g. lifter.pt); "
                              f"{', '.join(str(p) for p in list(outs.values())[1:])} are written beside it")
    refuse_overwrite(outs, {"--config": args.config})
    cfg = LifterTrainConfig.from_yaml(args.config)
    if args.seed is not None:
        cfg.seed = args.seed
    if args.threads is not None:
        cfg.threads = args.threads
    if args.steps_scale != 1.0:
        for st in cfg.stages:
            st.steps = max(1, round(st.steps * args.steps_scale))
    cfg.validate(f"{args.config} (with command-line overrides)")
    import torch
    torch.set_num_threads(max(1, cfg.threads))            # the command owns the process's threads
    summary = train(cfg, args.out, log=lambda s: print(s, flush=True), resume=args.resume)
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
    p.add_argument("--resume", action="store_true",
                   help="continue exactly from OUT.ckpt.pt (written every checkpoint_every steps)")
    p.add_argument("--steps-scale", type=float, default=1.0, help="multiply every stage's steps (quick runs)")
    p.set_defaults(func=_run)
