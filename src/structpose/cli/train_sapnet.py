"""``structpose train sapnet --config configs/sapnet_realtime_stage2.yaml [--resume] [--steps N] [--out-dir DIR]
[--seed S] [--init WEIGHTS]``.

One process, or many under ``torchrun`` (``WORLD_SIZE`` set): then each process joins the DDP group
(NCCL on GPUs, gloo on CPUs).  See docs/TRAINING_SAPNET.md for the four-stage recipe.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from ._groups import group


def register(sub: argparse._SubParsersAction) -> None:
    p = group(sub, "train").add_parser(
        "sapnet", help="train SAP-Net (one stage of Sec. 4.3) from a YAML config",
        description="Train one SAP-Net stage from a YAML config (configs/sapnet_*.yaml). Writes config.json, "
                    "log.csv, last.pt (checkpoint), weights.pt and eval.json into the config's out_dir. "
                    "Multi-GPU / multi-node: launch with torchrun.")
    p.add_argument("--config", required=True, help="YAML config file")
    p.add_argument("--resume", action="store_true", help="continue exactly from out_dir/last.pt")
    p.add_argument("--steps", type=int, help="override the config's train.steps")
    p.add_argument("--out-dir", help="override the config's out_dir")
    p.add_argument("--seed", type=int, help="override the config's train.seed (batch order, augmentation)")
    p.add_argument("--init", help="override the config's init weights (e.g. the matching seed's previous stage)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available)")
    p.add_argument("--export", help="also write the final weights to this path, stored as float16")
    p.set_defaults(func=run)


def load_config(path: str | Path) -> dict:
    from ..errors import StructposeError
    from ..train.checks import read_yaml_mapping
    from ..train.sapnet import validate_config
    p = Path(path)
    cfg = read_yaml_mapping(p, "configs/sapnet_realtime_stage3.yaml", "a mapping with a 'train' section")
    if "train" not in cfg:
        raise StructposeError(f"config {p} must be a mapping with a 'train' section (see configs/sapnet_*.yaml)")
    return validate_config(cfg, str(p))


def run(args: argparse.Namespace) -> int:
    import torch
    import torch.distributed as dist

    from ..errors import StructposeError
    from ..train.sapnet import SAPNetTrainConfig, train
    cfg = load_config(args.config)
    if args.steps is not None:
        if args.steps < 1:
            raise StructposeError(f"--steps {args.steps}; expected >= 1")
        cfg["train"]["steps"] = args.steps
    if args.seed is not None:
        cfg["train"]["seed"] = args.seed
    if args.init is not None:
        from ..io.guards import check_input_file
        cfg["init"] = str(check_input_file(args.init, "--init", "give a SAP-Net weights file"))
    torch.set_num_threads(SAPNetTrainConfig.from_dict(cfg["train"]).threads)   # checked before any work
    out = Path(args.out_dir or cfg.get("out_dir") or f"runs/{Path(args.config).stem}")
    from ..io.guards import refuse_overwrite
    refuse_overwrite({"the run's config copy": out / "config.json", "--export": args.export},
                     {"--config": args.config, "init weights": cfg.get("init")})
    refuse_overwrite({"--export": args.export}, {f"out_dir file {n}": out / n for n in ("last.pt", "weights.pt")})
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device not in ("cpu", "cuda"):
        raise StructposeError(f"--device {device!r}; choose cpu or cuda")
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed:
        dist.init_process_group("nccl" if device == "cuda" else "gloo")
    try:
        res = train(cfg, out, resume=args.resume, device=device)
    finally:
        if distributed:
            dist.destroy_process_group()
    if not distributed or int(os.environ.get("RANK", "0")) == 0:
        if res["losses"]:
            print(f"done: step {res['step']}, loss {res['losses'][-1]['total']:.5f} -> {out}")
        else:
            print(f"already complete at step {res['step']} (nothing to train) -> {out}")
        if "eval" in res:
            e = res["eval"]
            print(f"held-out renders: MPJPE {e['mpjpe_mm']:.1f} mm, PA-MPJPE {e['pa_mpjpe_mm']:.1f} mm, "
                  f"2D PCK@0.05 {e['pck2d_0.05']:.3f}")
        if args.export:
            from ..models.sapnet import load_weights, save_weights
            net, bone_sum, meta = load_weights(out / "weights.pt")
            Path(args.export).parent.mkdir(parents=True, exist_ok=True)
            save_weights(args.export, net, bone_sum, meta, half=True)
            print(f"exported {args.export} (float16)")
    return 0
