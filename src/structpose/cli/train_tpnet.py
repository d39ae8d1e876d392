"""``structpose train tpnet --config configs/tpnet_online.yaml [--resume] [--steps N] [--out-dir DIR]``."""
from __future__ import annotations

import argparse
from pathlib import Path

from ._groups import group


def register(sub: argparse._SubParsersAction) -> None:
    p = group(sub, "train").add_parser(
        "tpnet", help="train TP-Net (or the LSTM baselines) on real mocap + the per-frame error model",
        description="Train a temporal refiner from a YAML config (configs/tpnet_*.yaml, configs/grid/*.yaml). "
                    "Writes config.yaml, checkpoint.pt, best.pt and summary.json into the config's out_dir.")
    p.add_argument("--config", required=True, help="YAML config file")
    p.add_argument("--resume", action="store_true", help="continue from out_dir/checkpoint.pt")
    p.add_argument("--steps", type=int, help="override the config's number of steps")
    p.add_argument("--out-dir", help="override the config's out_dir")
    p.add_argument("--export", help="override where the best model is exported (float16)")
    p.add_argument("--max-minutes", type=float, help="override the wall-time budget")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (logs only)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..train.tpnet import TPNetTrainConfig, train
    cfg = TPNetTrainConfig.from_yaml(args.config)
    for key in ("steps", "out_dir", "export", "max_minutes"):
        v = getattr(args, key)
        if v is not None:
            setattr(cfg, key, v)
    cfg.validate(f"{args.config} (with command-line overrides)")
    from ..io.guards import refuse_overwrite
    run_dir = Path(cfg.out_dir)
    refuse_overwrite({"the run's config copy": run_dir / "config.yaml", "--export": cfg.export},
                     {"--config": args.config})
    refuse_overwrite({"--export": cfg.export}, {f"out_dir file {n}": run_dir / n
                                                for n in ("checkpoint.pt", "best.pt", "summary.json")})
    import torch
    torch.set_num_threads(max(1, int(cfg.threads)))       # the command owns the process's threads
    s = train(cfg, resume=args.resume, progress=not args.no_progress)
    print(f"done: {s['steps']} steps in {s['wall_s'] / 60:.1f} min, best val MPJPE {s['best_val_mpjpe_mm']:.1f} mm"
          f" -> {s['out_dir']}" + (f", exported {s['exported']}" if s.get("exported") else ""))
    return 0
