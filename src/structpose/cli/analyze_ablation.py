"""``structpose analyze ablation --config configs/lifter_ablation.yaml --out DIR``: Table 3 in kind."""
from __future__ import annotations

import argparse
import math
from pathlib import Path

from ..errors import StructposeError
from ._groups import group


def _run(args: argparse.Namespace) -> int:
    from ..analysis.ablation import arms_for, run_ablation
    from ..train.lifter import LifterTrainConfig
    try:
        seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError:
        raise StructposeError(f"--seeds {args.seeds!r}; expected comma-separated integers, e.g. 0,1") from None
    if len(seeds) < 2 or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise StructposeError(f"--seeds {args.seeds!r}: give at least 2 different seeds >= 0, e.g. 0,1 (the table "
                              "reports a spread over seeds)")
    for name in ("warm_steps", "ga_steps", "s_steps"):
        if getattr(args, name) < 1:
            raise StructposeError(f"--{name.replace('_', '-')} {getattr(args, name)}; expected a number of steps >= 1")
    cfg = LifterTrainConfig.from_yaml(args.config)
    if args.threads is not None:
        cfg.threads = args.threads
    try:
        scales = [float(s) for s in args.lambda_scales.split(",") if s.strip()]
    except ValueError:
        raise StructposeError(f"--lambda-scales {args.lambda_scales!r}; expected numbers like 1,20") from None
    if not scales or not all(math.isfinite(s) and 0 < s <= 1e6 for s in scales):
        raise StructposeError("--lambda-scales needs positive multipliers, e.g. 1 or 1,20")
    import torch
    torch.set_num_threads(max(1, cfg.threads))            # the command owns the process's threads
    res = run_ablation(cfg, seeds, args.warm_steps, (args.ga_steps, args.s_steps), args.out,
                       log=lambda s: print(s, flush=True), arms=arms_for(scales))
    print(res["table"])
    print(f"wrote {Path(args.out) / 'results.json'} and table.md in {res['wall_seconds']:.0f} s")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = group(sub, "analyze").add_parser(
        "ablation", help="Table 3 in kind: lifter baseline / +Lg / +La / +Ls, several seeds",
        description="Controlled ablation of the structure-aware losses on the lifter (shared warm start per "
                    "seed, identical batches per arm, LayerNorm); MPJPE, PA-MPJPE, symmetry, illegal angles.")
    p.add_argument("--config", type=Path, default=Path("configs/lifter_ablation.yaml"))
    p.add_argument("--out", type=Path, default=Path("ablation_out"))
    p.add_argument("--seeds", default="0,1", help="comma-separated seeds (>= 2)")
    p.add_argument("--warm-steps", type=int, default=1500, help="3D-only warm start per seed")
    p.add_argument("--ga-steps", type=int, default=800, help="stage + Lg + La (lr 2.5e-4) per arm")
    p.add_argument("--s-steps", type=int, default=400, help="stage + Ls (lr 2.5e-5) per arm")
    p.add_argument("--lambda-scales", default="1", help="multipliers of the paper's lambdas, e.g. 1,20")
    p.add_argument("--threads", type=int, default=None)
    p.set_defaults(func=_run)
