"""SAP-Net training (paper Sec. 4.3) on torch.distributed DDP, launched by ``torchrun`` or as one process.

Engine choice: plain DDP (``torchrun --nproc_per_node=G [--nnodes=N] -m structpose train sapnet ...``)
rather than Lightning, because the one hard requirement is *exact* resume after a crash.  Here the
batch of global step ``s`` is a pure function of ``(seed, s)`` (per-epoch permutations, per-sample
augmentation RNG seeded by ``(seed, epoch, index)``) and a checkpoint holds model, optimiser, grad
scaler and ``s``: resuming replays bit-identical batches.  Lightning restores mid-epoch only with
stateful loaders and re-seeds workers, which is harder to prove exact; DDP, gloo/NCCL, autocast and
the GradScaler are the same engine Lightning drives underneath.

Each global batch is half 2D-only samples (the paper's MPII) and half 3D samples (H36M), from
*different* clips.  Stage losses come from the config's weights (0 = off):

* stage 1: heatmap MSE on every stack (both halves) — 2D pre-training;
* stage 2: + depth L2 on the 3D half — warm start of the depth regressor;
* stage 3: + lambda_g Lg + lambda_a La on the 2D half (ground-truth xy, predicted z), lr 2.5e-4
  (``train.lambda_unit``: which depth unit the lambdas are relative to, see :func:`effective_weights`);
* stage 4: + lambda_s Ls, lr 2.5e-5.
"""
from __future__ import annotations

import csv
import json
import os
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from ..codec import bone_length_sum
from ..errors import StructposeError
from ..io.atomic import atomic_path
from ..io.guards import load_torch
from ..losses import depth_l2_loss, heatmap_mse_loss, structure_aware_loss
from ..models.sapnet import SAPNet, get_config, load_weights
from .sapnet_data import build_datasets, canonical_lengths_normalised, evaluate

LOSS_KEYS = ("heatmap", "depth", "lambda_g", "lambda_a", "lambda_s")
LABELLED_XY = 4.0      # |normalised crop coordinate| beyond this = an unlabelled joint (sent to -1e6 px)


@dataclass(frozen=True)
class SAPNetTrainConfig:
    """The ``train:`` section of a SAP-Net stage config (configs/sapnet_*.yaml), every field checked.

    ``weights``: loss weights among :data:`LOSS_KEYS`; ``lambda_unit``: how ``lambda_g`` / ``lambda_a``
    are read (:func:`effective_weights`); ``amp``: autocast on CUDA (auto, fp16, bf16, off);
    ``threads``: torch CPU threads (set by the command, not by :func:`train`).
    """

    steps: int = 1000
    batch_size: int = 6
    optimizer: str = "rmsprop"
    lr: float = 2.5e-4
    weights: dict[str, float] = field(default_factory=lambda: {"heatmap": 1.0})
    lambda_unit: str = "crop"
    checkpoint_every: int = 100
    log_every: int = 10
    amp: str = "auto"
    threads: int = 1
    seed: int = 0
    tensorboard: bool = False

    @classmethod
    def from_dict(cls, doc: Any) -> SAPNetTrainConfig:
        """Check every key's type and range; a problem is one line naming ``train.KEY``."""
        if doc is None:
            doc = {}
        if not isinstance(doc, dict):
            raise StructposeError(f"train section is {type(doc).__name__}; expected a mapping of settings")
        known = {f.name for f in fields(cls)}
        bad = sorted(set(doc) - known)
        if bad:
            raise StructposeError(f"unknown train setting(s) {', '.join(map(str, bad))}; known: {', '.join(sorted(known))}")
        ints = {"steps": 1, "batch_size": 2, "checkpoint_every": 1, "log_every": 1, "threads": 1, "seed": 0}
        out: dict[str, Any] = {}
        for key, value in doc.items():
            if key in ints:
                if isinstance(value, bool) or not isinstance(value, int) or value < ints[key]:
                    what = "train.seed (or --seed)" if key == "seed" else f"train.{key}"
                    raise StructposeError(f"{what} is {value!r}; expected an integer >= {ints[key]}")
            elif key == "lr":
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 < float(value) < 1):
                    raise StructposeError(f"train.lr is {value!r}; expected a learning rate in (0, 1)")
                value = float(value)
            elif key == "tensorboard":
                if not isinstance(value, bool):
                    raise StructposeError(f"train.tensorboard is {value!r}; expected true or false")
            elif key == "weights":
                if not isinstance(value, dict):
                    raise StructposeError(f"train.weights is {value!r}; expected a mapping loss -> weight")
                unknown = set(value) - set(LOSS_KEYS)
                if unknown:
                    raise StructposeError(f"unknown loss weight(s) {sorted(unknown)}; known: {', '.join(LOSS_KEYS)}")
                for k, v in value.items():
                    if isinstance(v, bool) or not isinstance(v, (int, float)) or not (float(v) >= 0):
                        raise StructposeError(f"train.weights.{k} is {v!r}; expected a number >= 0")
                value = {k: float(v) for k, v in value.items()}
            else:
                choices = {"optimizer": ("rmsprop", "adam", "sgd"), "lambda_unit": ("crop", "heatmap_px"),
                           "amp": ("auto", "fp16", "bf16", "off")}[key]
                if value not in choices:
                    raise StructposeError(f"train.{key} {value!r}; choose {', '.join(choices[:-1])} or {choices[-1]}")
            out[key] = value
        cfg = cls(**out)
        if cfg.batch_size % 2:
            raise StructposeError(f"train.batch_size must be even and >= 2 (half 2D, half 3D), got {cfg.batch_size}")
        return cfg


def _rank() -> tuple[int, int]:
    return (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)


def model_config(cfg: dict) -> Any:
    m = dict(cfg.get("model", {"preset": "realtime"}))
    base = asdict(get_config(m.pop("preset", "realtime")))
    base.update(m)
    return get_config(base)


TOP_KEYS = ("stage", "model", "init", "reinit_depth", "out_dir", "data", "train")


def validate_config(cfg: Any, where: str = "config") -> dict:
    """Type and range of every top-level key of a SAP-Net stage config (one line naming the key); the
    ``train:`` section is :class:`SAPNetTrainConfig`'s."""
    from . import checks as C
    C.mapping(cfg, "the file", where)
    bad = sorted(set(cfg) - set(TOP_KEYS))
    if bad:
        raise StructposeError(f"{where}: unknown keys {bad}; known: {', '.join(TOP_KEYS)}")
    if "stage" in cfg and cfg["stage"] is not None:
        C.integer(cfg["stage"], "stage", where, 1, 4)
    C.mapping(cfg.get("model", {}), "model", where)
    C.mapping(cfg.get("data", {}), "data", where)
    C.text(cfg.get("init"), "init", where, optional=True)
    C.text(cfg.get("out_dir"), "out_dir", where, optional=True)
    C.boolean(cfg.get("reinit_depth", False), "reinit_depth", where)
    try:
        SAPNetTrainConfig.from_dict(cfg.get("train"))
    except StructposeError as e:
        raise StructposeError(f"{where}: {e}") from None
    return cfg


def _global_indices(n: int, step: int, per_step: int, seed: int, salt: int) -> np.ndarray:
    """Dataset indices of one global step: walk per-epoch permutations (deterministic in ``seed``)."""
    steps_per_epoch = max(n // per_step, 1)
    epoch, k = divmod(step, steps_per_epoch)
    perm = np.random.default_rng([seed, salt, epoch]).permutation(n)
    return np.resize(perm[k * per_step:(k + 1) * per_step], per_step), epoch


def _batch(ds: Any, idx: np.ndarray, epoch: int) -> dict[str, torch.Tensor]:
    ds.set_epoch(epoch)
    items = [ds[int(i)] for i in idx]
    return {k: torch.stack([it[k] for it in items]) for k in items[0]}


def _autocast(device: torch.device, mode: str) -> Any:
    if mode == "off" or (mode == "auto" and device.type != "cuda"):
        return torch.autocast(device.type, enabled=False)
    dtype = torch.bfloat16 if mode == "bf16" or device.type != "cuda" else torch.float16
    return torch.autocast(device.type, dtype=dtype)


def compute_losses(net: torch.nn.Module, batch: dict[str, torch.Tensor], w: dict[str, float],
                   canon: torch.Tensor) -> dict[str, torch.Tensor]:
    hm, z = net(batch["image"])
    hm, z = hm.float(), z.float()
    out = {"heatmap": heatmap_mse_loss(hm, batch["heatmaps"][:, None], batch["weight"][:, None])}
    is3d = batch["has3d"] > 0.5
    zero = z.sum() * 0.0    # keeps every parameter in the graph (DDP needs a gradient for all)
    out["depth"] = depth_l2_loss(z[is3d], batch["z"][is3d], batch["weight"][is3d]) if is3d.any() else zero
    sa = {"lambda_g": w.get("lambda_g", 0.0), "lambda_a": w.get("lambda_a", 0.0), "lambda_s": w.get("lambda_s", 0.0)}
    # the structure terms need every joint's 2D: a 2D-only sample with an unlabelled joint (sent far outside the
    # crop, weight 0: a pseudo-label the detector was unsure of) would blow them up, so it sits them out
    two_d = ~is3d & (batch["xy"].abs() < LABELLED_XY).all(-1).all(-1)
    if any(sa.values()) and two_d.any():
        pred = torch.cat([batch["xy"][two_d], z[two_d][..., None]], -1)
        out["structure"] = structure_aware_loss(pred, gt_xy=batch["xy"][two_d], canonical_lengths=canon, **sa)
    else:
        out["structure"] = zero
    out["total"] = w.get("heatmap", 1.0) * out["heatmap"] + w.get("depth", 0.0) * out["depth"] + out["structure"] + zero
    return out


def effective_weights(weights: dict[str, float], lambda_unit: str, heatmap_size: int) -> dict[str, float]:
    """Loss weights as applied.  ``lambda_unit: crop`` takes ``lambda_g`` / ``lambda_a`` literally against
    our depth loss (normalised crop units).  ``heatmap_px`` reads them as the paper's numbers relative to
    a depth loss in heatmap pixels: that loss is ``heatmap_size**2`` times ours while Lg and La are
    scale-free, so both are divided by ``heatmap_size**2``.  ``lambda_s`` needs no change: Ls, like the
    depth loss, is in squared length units, so its weight relative to the depth loss is unit-free."""
    if lambda_unit not in ("crop", "heatmap_px"):
        raise StructposeError(f"train.lambda_unit {lambda_unit!r}; choose crop or heatmap_px")
    out = dict(weights)
    if lambda_unit == "heatmap_px":
        for k in ("lambda_g", "lambda_a"):
            if k in out:
                out[k] = out[k] / heatmap_size ** 2
    return out


def _save_ckpt(path: Path, net: SAPNet, opt: torch.optim.Optimizer, scaler: Any, step: int, cfg: dict,
               bone_sum: float) -> None:
    blob = {"kind": "sapnet-train", "config": asdict(net.config), "train_config": cfg, "step": step,
            "model": net.state_dict(), "optimizer": opt.state_dict(), "scaler": scaler.state_dict(),
            "bone_sum": bone_sum, "meta": {"stage": cfg.get("stage")}}
    with atomic_path(path) as tmp:
        torch.save(blob, tmp)


def _truncate_log(path: Path, step: int, rank: int) -> None:
    """After a crash the log may hold rows past the checkpoint; they will be written again."""
    if rank != 0 or not path.is_file():
        return
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        return
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        wr = csv.DictWriter(fh, fieldnames=list(rows[0]))
        wr.writeheader()
        wr.writerows(r for r in rows if int(r["step"]) <= step)


def train(cfg: dict, out: str | Path, resume: bool = False, device: str = "cpu") -> dict[str, Any]:
    """Run one stage; returns ``{"step", "losses" (per logged step), "eval"}``.  Writes into ``out``:
    ``config.json``, ``log.csv``, ``last.pt`` (every ``checkpoint_every`` steps), ``weights.pt``,
    ``eval.json`` (held-out renders), ``summary.json``, TensorBoard events if enabled."""
    out = Path(out)
    validate_config(cfg)
    t_cfg = SAPNetTrainConfig.from_dict(cfg.get("train"))
    rank, world = _rank()
    dev = torch.device(device if device != "cuda" else f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}")
    seed = t_cfg.seed
    mcfg = model_config(cfg)
    ckpt = out / "last.pt"
    # files the user names are read (safely) and checked before minutes of data preparation
    blob = load_torch(ckpt, "checkpoint", "drop --resume or use another --out") if resume and ckpt.is_file() \
        else None
    if blob is not None:
        if not isinstance(blob, dict) or blob.get("kind") != "sapnet-train":
            raise StructposeError(f"{ckpt} is not a SAP-Net training checkpoint; drop --resume or use another --out")
        if blob.get("config") != asdict(mcfg):
            raise StructposeError(f"{ckpt} was written by SAP-Net {blob.get('config')}, not {asdict(mcfg)}; "
                                  "use another --out or drop --resume")
    if cfg.get("init"):
        load_weights(cfg["init"], expect=mcfg)
    data = build_datasets(cfg, mcfg.input_size, seed, rank)
    if dist.is_initialized():
        dist.barrier()   # rank 0 rendered/cached the data; the others have loaded the same arrays

    torch.manual_seed(seed)
    net = SAPNet(mcfg)
    if cfg.get("init"):
        init, _, _ = load_weights(cfg["init"], expect=mcfg)
        net.load_state_dict(init.state_dict())
    if cfg.get("reinit_depth"):
        # stage 2 starts the depth module afresh: stage 1 never trained it
        torch.manual_seed(seed + 1)
        net.depth = type(net.depth)(mcfg.channels, mcfg.heatmap_size, mcfg.num_joints)
    net.to(dev)
    ddp = torch.nn.parallel.DistributedDataParallel(net) if dist.is_initialized() else net
    opt = {"rmsprop": torch.optim.RMSprop, "adam": torch.optim.Adam,
           "sgd": lambda p, lr: torch.optim.SGD(p, lr, momentum=0.9)}[t_cfg.optimizer](net.parameters(), lr=t_cfg.lr)
    amp = t_cfg.amp
    scaler = torch.amp.GradScaler(dev.type, enabled=(dev.type == "cuda" and amp in ("auto", "fp16")))
    weights = effective_weights(dict(t_cfg.weights), t_cfg.lambda_unit, mcfg.heatmap_size)
    canon = torch.as_tensor(data["canonical"], dtype=torch.float32, device=dev)
    bone_sum = float(data["bone_sum"])

    step = 0
    if blob is not None:
        net.load_state_dict(blob["model"])
        opt.load_state_dict(blob["optimizer"])
        scaler.load_state_dict(blob["scaler"])
        step = int(blob["step"])
        _truncate_log(out / "log.csv", step, rank)
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        with atomic_path(out / "config.json") as tmp:
            tmp.write_text(json.dumps(cfg, indent=2))
    steps, per_rank = t_cfg.steps, t_cfg.batch_size
    half = per_rank // 2
    every, log_every = t_cfg.checkpoint_every, t_cfg.log_every
    writer = None
    if rank == 0 and t_cfg.tensorboard:
        from torch.utils.tensorboard import SummaryWriter
        writer = SummaryWriter(str(out / "tb"))
    log_path = out / "log.csv"
    history: list[dict[str, float]] = []
    net.train()
    t0 = time.time()
    while step < steps:
        # global batch: world * half 2D samples + world * half 3D samples; this rank takes its slice
        i2, e2 = _global_indices(len(data["2d"]), step, half * world, seed, 2)
        i3, e3 = _global_indices(len(data["3d"]), step, half * world, seed, 3)
        b2 = _batch(data["2d"], i2[rank * half:(rank + 1) * half], e2)
        b3 = _batch(data["3d"], i3[rank * half:(rank + 1) * half], e3)
        batch = {k: torch.cat([b2[k], b3[k]]).to(dev) for k in b2}
        with _autocast(dev, amp):
            losses = compute_losses(ddp, batch, weights, canon)
        opt.zero_grad(set_to_none=True)
        scaler.scale(losses["total"]).backward()
        scaler.step(opt)
        scaler.update()
        step += 1
        if step % log_every == 0 or step == steps:
            vals = {k: float(v.detach()) for k, v in losses.items()}
            if dist.is_initialized():   # log the mean over ranks
                t = torch.tensor([vals[k] for k in sorted(vals)], device=dev)
                dist.all_reduce(t)
                vals = dict(zip(sorted(vals), (t / world).tolist()))
            vals = {"step": step, **vals, "lr": t_cfg.lr, "seconds": round(time.time() - t0, 2)}
            history.append(vals)
            if rank == 0:
                new = not log_path.exists() or step <= log_every
                with open(log_path, "w" if new else "a", newline="") as fh:
                    wr = csv.DictWriter(fh, fieldnames=list(vals))
                    if new:
                        wr.writeheader()
                    wr.writerow(vals)
                if writer:
                    for k, v in vals.items():
                        if k != "step":
                            writer.add_scalar(f"loss/{k}" if k not in ("lr", "seconds") else k, v, step)
        if rank == 0 and (step % every == 0 or step == steps):
            _save_ckpt(ckpt, net, opt, scaler, step, cfg, bone_sum)
    result: dict[str, Any] = {"step": step, "losses": history, "world_size": world}
    if dist.is_initialized():
        # proof that DDP kept the replicas identical: max |param - rank 0's param| over all ranks
        flat = torch.cat([p.detach().flatten() for p in net.parameters()])
        ref = flat.clone()
        dist.broadcast(ref, 0)
        diff = (flat - ref).abs().max()
        dist.all_reduce(diff, op=dist.ReduceOp.MAX)
        result["rank_param_max_diff"] = float(diff)
    if rank == 0:
        final = history[-1] if history else None
        if final is None and log_path.is_file():
            # re-invoked on a finished run (e.g. --resume --export): the last logged row still stands
            with open(log_path, newline="") as fh:
                rows = list(csv.DictReader(fh))
            final = {k: float(v) for k, v in rows[-1].items()} if rows else None
        with atomic_path(out / "summary.json") as tmp:
            tmp.write_text(json.dumps({k: v for k, v in result.items() if k != "losses"}
                                      | {"final": final,
                                         "effective_weights": weights}, indent=2))
        from ..models.sapnet import save_weights
        save_weights(out / "weights.pt", net, bone_sum, {"stage": cfg.get("stage"), "steps": step,
                                                          "trained_on": data.get("trained_on", "renders of real mocap (stand-in)")})
        if data.get("test") is not None:
            result["eval"] = evaluate(net.eval(), data["test"], bone_sum)
            with atomic_path(out / "eval.json") as tmp:
                tmp.write_text(json.dumps(result["eval"], indent=2))
    if writer:
        writer.close()
    return result


__all__ = ["bone_length_sum", "canonical_lengths_normalised", "compute_losses", "effective_weights", "model_config",
           "train"]
