"""Training TP-Net and its recurrent baselines on real mocap + the per-frame error model.

Data: the TRAIN split clips (DeepMimic + holosoma climbing, :mod:`structpose.data.splits`) as
clean windows from :class:`~structpose.data.datasets.PoseWindowDataset` — a camera at a random
heading about the vertical axis, tilted by up to ``pitch_deg`` — at the model rate (30 fps).
Frame-rate augmentation: the clips are also resampled at ``rate / s`` for every speed factor ``s``
in ``speeds`` and read as if they were at the model rate, i.e. the same motion played faster or
slower.  ``clip_repeat`` over-samples a source (DeepMimic's short, fast clips would otherwise be a
third of the frames next to the long, slow climbing sequences).  Inputs: those windows corrupted by :class:`~structpose.data.error_model.ErrorModel`,
its magnitudes scaled per window by a factor drawn from ``error_scale`` (robustness to better
and worse estimators) — and, for a ``lifter_fraction`` of each batch, the real predictions of the
shipped lifter (:func:`lifted`: the window projected by a pinhole camera, 2D noise, lifted).  Targets: the clean pose of the reference frame.

Each sample holds ``N + 1`` frames, so that two consecutive outputs are predicted; the loss is the
paper's L2 on the pose plus ``velocity_weight`` x L2 on the difference of consecutive outputs
(a learned refiner is otherwise jerkier than a filter, see ``docs``).  Adam, cosine learning rate,
tqdm progress, a checkpoint every ``checkpoint_every`` steps with optimiser and RNG state
(``--resume`` continues exactly: the checkpoint holds the epoch and the batch within it), the run's config written beside the checkpoint,
validation MPJPE on the VAL split; ``best.pt`` keeps the best validation model.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch.utils.data import ConcatDataset, default_collate

from ..data.datasets import PoseWindowDataset
from ..data.error_model import ErrorModel
from ..data.sources import load_clips
from ..data.splits import split_clips
from ..errors import StructposeError
from ..io.atomic import atomic_path
from ..io.guards import load_torch
from ..models.tpnet import build_model, save_model
from ..models.windows import MODEL_FPS, reference_index
from . import checks as C


@dataclass
class TPNetTrainConfig:
    model: dict[str, Any] = field(default_factory=lambda: {"kind": "tpnet", "window": 20, "mode": "online",
                                                            "hidden": [4096], "representation": "relative"})
    sources: list[str] = field(default_factory=lambda: ["deepmimic", "holosoma"])
    steps: int = 3000
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    velocity_weight: float = 1.0
    speeds: list[float] = field(default_factory=lambda: [0.8, 1.0, 1.25])
    clip_repeat: dict[str, int] = field(default_factory=dict)   # {source: k}: see each clip k times per epoch
    lifter_fraction: float = 0.0    # share of each batch whose inputs are the shipped lifter's real predictions
    pairs: str | None = None        # npz of (prediction, ground truth) sequences, e.g. SAP-Net on rendered videos
    pairs_fraction: float = 0.0     # share of each batch drawn from ``pairs`` (inputs AND targets)
    pairs_val: str | None = None    # validate (choose best.pt) on these pairs instead of the error-model VAL set
    pitch_deg: float = 20.0
    error_model: dict[str, Any] = field(default_factory=dict)
    error_scale: tuple[float, float] = (0.5, 1.5)
    seed: int = 0
    threads: int = 1
    checkpoint_every: int = 500
    val_every: int = 500
    max_minutes: float = 10.0
    out_dir: str = "runs/tpnet_online"
    export: str | None = None       # also write the best model here (float16), e.g. the shipped weights
    init: str | None = None         # start from these TP-Net weights (fine-tuning; same model config), e.g. shipped

    @classmethod
    def from_yaml(cls, path: str | Path) -> TPNetTrainConfig:
        path = Path(path)
        raw = C.read_yaml_mapping(path, "configs/tpnet_online.yaml")
        unknown = set(raw) - set(cls.__dataclass_fields__)
        if unknown:
            raise StructposeError(f"{path}: unknown config keys {sorted(unknown)}; known: "
                                  f"{sorted(cls.__dataclass_fields__)}")
        cfg = cls(**raw)
        cfg.validate(str(path))
        return cfg

    def validate(self, where: str = "config") -> None:
        """Type and range of every field (one line naming the key); also run after command-line overrides."""
        C.mapping(self.model, "model", where)
        if "window" in self.model:
            C.integer(self.model["window"], "model.window", where, 1, 1000)
        if "hidden" in self.model:
            h = self.model["hidden"]
            if not isinstance(h, (list, int)) or isinstance(h, bool):
                raise StructposeError(f"{where}: model.hidden is {h!r}; expected a list of layer sizes, e.g. [4096] "
                                      "(an integer for kind: lstm)")
            for v in (h if isinstance(h, list) else [h]):
                C.integer(v, "model.hidden", where, 1, 65536)
        C.strings(self.sources, "sources", where)
        C.integer(self.steps, "steps", where, 1)
        C.integer(self.batch_size, "batch_size", where, 1)
        C.number(self.lr, "lr", where, 0, 10, lo_open=True)
        C.number(self.weight_decay, "weight_decay", where, 0)
        C.number(self.velocity_weight, "velocity_weight", where, 0)
        if not isinstance(self.speeds, list) or not self.speeds:
            raise StructposeError(f"{where}: speeds is {self.speeds!r}; expected a non-empty list of speed "
                                  "factors, e.g. [0.8, 1.0, 1.25]")
        for s in self.speeds:
            C.number(s, "speeds", where, 0.1, 10)
        for k, v in C.mapping(self.clip_repeat, "clip_repeat", where).items():
            C.integer(v, f"clip_repeat.{k}", where, 1, 1000)
        C.number(self.lifter_fraction, "lifter_fraction", where, 0, 1)
        C.text(self.pairs, "pairs", where, optional=True)
        C.number(self.pairs_fraction, "pairs_fraction", where, 0, 1)
        C.text(self.pairs_val, "pairs_val", where, optional=True)
        self.pairs, self.pairs_val = (str(Path(f).expanduser()) if f else f for f in (self.pairs, self.pairs_val))
        C.number(self.pitch_deg, "pitch_deg", where, 0, 90)
        C.mapping(self.error_model, "error_model", where)
        self.error_scale = C.pair(self.error_scale, "error_scale", where, 0, 100)
        C.integer(self.seed, "seed", where, 0)
        C.integer(self.threads, "threads", where, 1, 1024)
        C.integer(self.checkpoint_every, "checkpoint_every", where, 1)
        C.integer(self.val_every, "val_every", where, 1)
        C.number(self.max_minutes, "max_minutes", where, 0, lo_open=True)
        C.text(self.out_dir, "out_dir", where)
        C.text(self.export, "export", where, optional=True)
        C.text(self.init, "init", where, optional=True)
        if self.init and not Path(self.init).expanduser().is_file():
            raise StructposeError(f"{where}: init weights {self.init} not found; expected a TP-Net .pt file")
        try:
            ErrorModel(**self.error_model)         # validate early
            build_model(self.model)
        except (TypeError, ValueError) as e:
            if isinstance(e, StructposeError):
                raise StructposeError(f"{where}: {e}") from None
            raise StructposeError(f"{where}: model or error_model has a bad key or value ({e})") from None
        if self.pairs_fraction > 0 and not self.pairs:
            raise StructposeError(f"{where}: pairs_fraction > 0 needs 'pairs' (an npz from `structpose data pairs`)")
        for f in (self.pairs, self.pairs_val):
            if f and not Path(f).is_file():
                raise StructposeError(f"{where}: pairs file {f} not found; write SAP-Net pairs with "
                                      "`structpose data pairs OUT.npz WEIGHTS`, or MediaPipe-on-renders pairs with "
                                      "`structpose data renders` then `python -m benchmarks tpnet_family`")


def _windows(clips, window: int, mode: str, speeds: list[float], pitch_deg: float, seed: int) -> ConcatDataset:
    # N + 1 frames per sample: two consecutive N-frame windows (see module docstring)
    sets = [PoseWindowDataset(clips, window=window + 1, mode=mode, target_fps=MODEL_FPS / s,
                              pitch_deg=pitch_deg, seed=seed + k) for k, s in enumerate(speeds)]
    return ConcatDataset(sets)


def corrupt(clean: np.ndarray, em: ErrorModel, scale: tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    """Apply the error model to a batch of clean windows ``(B, W, 17, 3)`` with per-window magnitudes."""
    s = rng.uniform(*scale, size=clean.shape[0])
    out = np.empty(clean.shape, np.float32)
    # group windows by magnitude bucket: one batched call per bucket keeps this vectorised
    buckets = np.minimum((s - scale[0]) / max(scale[1] - scale[0], 1e-9) * 4, 3).astype(int)
    for b in np.unique(buckets):
        m = buckets == b
        out[m] = em.scaled(float(s[m].mean())).apply(clean[m], MODEL_FPS, rng)
    return out


def lifted(clean: np.ndarray, lifter, rng: np.random.Generator, noise_px: float = 2.0) -> np.ndarray:
    """Real per-frame predictions for clean root-relative windows ``(B, W, 17, 3)``: place each window
    3-7 m in front of a 1000 px pinhole camera, project, add 2D detector noise, lift (root-relative)."""
    B = clean.shape[0]
    offset = np.stack([rng.uniform(-0.6, 0.6, B), rng.uniform(-0.3, 0.3, B), rng.uniform(3.0, 7.0, B)], -1)
    cam = clean + offset[:, None, None, :]
    uv = 1000.0 * cam[..., :2] / cam[..., 2:3] + 500.0 + rng.normal(0, noise_px, cam.shape[:-1] + (2,))
    pred = lifter.lift(uv.reshape(-1, 17, 2)).reshape(clean.shape)
    return np.nan_to_num(pred - pred[..., :1, :]).astype(np.float32)


def load_pairs(path: str | Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(name, ground truth (T,17,3), prediction (T,17,3))`` root-relative sequences at the model rate
    from an npz with ``names``, ``fps``, ``pred_i``, ``gt_i`` (``structpose data pairs``)."""
    try:
        f = np.load(path)
    except (OSError, ValueError) as e:
        raise StructposeError(f"{path}: cannot read as an npz pairs file ({type(e).__name__}); write one with "
                              "`structpose data pairs`") from None
    with f:
        if "names" not in f or "fps" not in f:
            raise StructposeError(f"{path}: not a pairs file (needs names, fps, pred_i, gt_i)")
        if abs(float(f["fps"]) - MODEL_FPS) > 1e-6:
            raise StructposeError(f"{path}: sequences at {float(f['fps'])} fps; TP-Net trains at {MODEL_FPS} fps")
        out = []
        for i, name in enumerate(f["names"]):
            gt, pred = f[f"gt_{i}"].astype(np.float32), f[f"pred_{i}"].astype(np.float32)
            if gt.shape != pred.shape or gt.shape[1:] != (17, 3):
                raise StructposeError(f"{path}: sequence {i} has pred {pred.shape} and gt {gt.shape}; "
                                      "expected equal (T, 17, 3)")
            if not (np.isfinite(gt).all() and np.isfinite(pred).all()):
                raise StructposeError(f"{path}: sequence {i} ({name}) holds NaN or inf; pairs must be finite")
            out.append((str(name), gt - gt[:, :1], pred - pred[:, :1]))
    return out


class PairWindows:
    """Random ``(N + 1)``-frame windows of (prediction, ground truth) sequences: TP-Net learns the
    errors of a real per-frame estimator instead of the error model.  Sequences shorter than a
    window are dropped; a window is drawn uniformly over all valid start frames."""

    def __init__(self, seqs: list[tuple[str, np.ndarray, np.ndarray]], length: int) -> None:
        self.seqs = [(gt, pred) for _, gt, pred in seqs if len(gt) >= length]
        if not self.seqs:
            raise StructposeError(f"no pairs sequence is at least {length} frames long")
        self.length = length
        counts = np.array([len(g) - length + 1 for g, _ in self.seqs])
        self.p = counts / counts.sum()
        self.counts = counts

    def sample(self, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """-> (clean, noisy), each ``(k, N + 1, 17, 3)``."""
        which = rng.choice(len(self.seqs), size=k, p=self.p)
        starts = (rng.random(k) * self.counts[which]).astype(int)
        clean = np.stack([self.seqs[w][0][s:s + self.length] for w, s in zip(which, starts)])
        noisy = np.stack([self.seqs[w][1][s:s + self.length] for w, s in zip(which, starts)])
        return clean, noisy


def _pair_loss(model: torch.nn.Module, noisy: torch.Tensor, clean: torch.Tensor, vel_w: float) -> torch.Tensor:
    n = model.window
    ref = reference_index(n, model.mode)
    pred = model(torch.stack([noisy[:, :n], noisy[:, 1:]], 0))          # (2, B, 17, 3)
    tgt = torch.stack([clean[:, ref], clean[:, ref + 1]], 0)
    loss = ((pred - tgt) ** 2).sum(-1).mean()
    if vel_w > 0:
        loss = loss + vel_w * (((pred[1] - pred[0]) - (tgt[1] - tgt[0])) ** 2).sum(-1).mean()
    return loss


def validation_set(clips, em: ErrorModel, seed: int = 1234) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(name, clean (T,17,3), noisy (T,17,3))`` root-relative at the model rate, front camera, seeded."""
    out = []
    for k, c in enumerate(clips):
        clean = c.in_camera().astype(np.float64)
        clean = clean - clean[:, :1]
        out.append((c.name, clean.astype(np.float32), em.apply(clean, MODEL_FPS, seed + k)))
    return out


def evaluate(model: torch.nn.Module, seqs) -> tuple[float, float]:
    """(MPJPE of the input, MPJPE of the refined output) in mm, pooled over all frames."""
    from ..pipeline.refiner import refine_sequence
    err_in, err_out, n = 0.0, 0.0, 0
    for _, clean, noisy in seqs:
        ref = refine_sequence(noisy, MODEL_FPS, mode=model.mode, model=model)
        err_in += float(np.linalg.norm(noisy - clean, axis=-1).mean(-1).sum())
        err_out += float(np.linalg.norm(ref - clean, axis=-1).mean(-1).sum())
        n += clean.shape[0]
    return 1000 * err_in / n, 1000 * err_out / n


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The window order of one epoch, a pure function of ``(seed, epoch)``: exactly what
    ``DataLoader(shuffle=True, generator=manual_seed(seed * 100003 + epoch))`` gave before resume was made
    exact (the loader draws one base seed from the generator, then its sampler one permutation)."""
    g = torch.Generator().manual_seed(seed * 100003 + epoch)
    torch.empty((), dtype=torch.int64).random_(generator=g)
    return torch.randperm(n, generator=g)


def train(cfg: TPNetTrainConfig, resume: bool = False, progress: bool = True) -> dict[str, Any]:
    """Train per ``cfg``; returns a summary (steps, wall time, val MPJPE, paths)."""
    from tqdm import tqdm
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "config.yaml") as tmp:
        tmp.write_text(yaml.safe_dump({**asdict(cfg), "error_scale": list(cfg.error_scale)}, sort_keys=False))
    splits = split_clips(load_clips(cfg.sources))
    em = ErrorModel(**cfg.error_model)
    model = build_model(cfg.model)
    if cfg.init:
        from ..models.tpnet import load_model
        start = load_model(Path(cfg.init).expanduser())
        if start.config != model.config:
            raise StructposeError(f"init weights {cfg.init} are a {start.config} model; this config builds "
                                  f"{model.config}")
        model.load_state_dict(start.state_dict())
    train_clips = [c for c in splits["train"] for _ in range(max(1, int(cfg.clip_repeat.get(c.source, 1))))]
    data = _windows(train_clips, model.window, model.mode, cfg.speeds, cfg.pitch_deg, cfg.seed)
    if cfg.pairs_val:
        val = [(n, gt, pred) for n, gt, pred in load_pairs(cfg.pairs_val)]
    else:
        val = validation_set(split_clips(load_clips(cfg.sources, fps=MODEL_FPS))["val"], em)
    pair_windows = PairWindows(load_pairs(cfg.pairs), model.window + 1) if cfg.pairs else None
    lifter = None
    if cfg.lifter_fraction > 0:
        from ..models.lifter import load_lifter
        lifter = load_lifter()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s / cfg.steps, 1))))
    rng = np.random.default_rng(cfg.seed)
    # position = (epoch, batch within the epoch): the batch order of an epoch is a pure function of
    # (seed, epoch), so a checkpoint that stores both resumes on exactly the batch that came next
    step, epoch, pos, best, history = 0, 0, 0, float("inf"), []
    ckpt = out / "checkpoint.pt"
    if resume and ckpt.is_file():
        blob = load_torch(ckpt, "checkpoint", "drop --resume or use another --out-dir")
        if not isinstance(blob, dict) or "batch_in_epoch" not in blob or blob.get("config") != model.config:
            raise StructposeError(f"{ckpt} is not a checkpoint of this model {model.config} (or was written by an "
                                  "older version that cannot resume exactly); drop --resume or use another --out-dir")
        model.load_state_dict(blob["model"]), opt.load_state_dict(blob["opt"]), sched.load_state_dict(blob["sched"])
        step, epoch, pos, best, history = (int(blob["step"]), int(blob["epoch"]), int(blob["batch_in_epoch"]),
                                           float(blob["best"]), list(blob["history"]))
        rng.bit_generator.state = blob["rng"]
        torch.set_rng_state(blob["torch_rng"])
    bs = cfg.batch_size
    per_epoch = len(data) // bs                      # drop_last: every batch has batch_size windows
    if per_epoch == 0:
        raise StructposeError(f"batch_size {bs} is larger than the {len(data)} training windows of this config; "
                              f"use a batch_size of at most {len(data)}")
    t0, elapsed0 = time.perf_counter(), (history[-1]["wall_s"] if history else 0.0)
    bar = tqdm(total=cfg.steps, initial=step, disable=not progress, mininterval=5.0,
               desc=f"train {model.kind} {model.mode}")
    model.train()
    stop = False
    while step < cfg.steps and not stop:
        for ds in data.datasets:
            ds.set_epoch(epoch)
        order = epoch_order(len(data), cfg.seed, epoch)
        for b in range(pos, per_epoch):
            batch = default_collate([data[int(i)] for i in order[b * bs:(b + 1) * bs]])
            clean = batch["window"].numpy()
            noisy_np = corrupt(clean, em, cfg.error_scale, rng)
            k = round(cfg.lifter_fraction * len(clean))
            if lifter is not None and k > 0:
                noisy_np[:k] = lifted(clean[:k], lifter, rng)
            kp = round(cfg.pairs_fraction * len(clean))
            if pair_windows is not None and kp > 0:
                # the last kp rows: real predictions and their own ground truth replace the mocap window
                clean = clean.copy()
                clean[-kp:], noisy_np[-kp:] = pair_windows.sample(kp, rng)
            noisy = torch.from_numpy(noisy_np)
            loss = _pair_loss(model, noisy, torch.from_numpy(clean), cfg.velocity_weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step(), sched.step()
            step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.2e}")
            wall = elapsed0 + time.perf_counter() - t0
            last = step >= cfg.steps or wall > 60 * cfg.max_minutes
            if step % cfg.val_every == 0 or last:
                model.eval()
                with torch.no_grad():
                    mi, mo = evaluate(model, val)
                model.train()
                history.append({"step": step, "wall_s": wall, "loss": loss.item(), "val_input_mm": mi,
                                "val_mpjpe_mm": mo})
                bar.write(f"step {step}: val MPJPE {mo:.1f} mm (input {mi:.1f} mm)")
                if mo < best:
                    best = mo
                    save_model(model, out / "best.pt", half=False, extra={"step": step, "val_mpjpe_mm": mo})
            if step % cfg.checkpoint_every == 0 or last:
                nxt = (epoch, b + 1) if b + 1 < per_epoch else (epoch + 1, 0)
                with atomic_path(ckpt) as tmp:
                    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                                "step": step, "epoch": nxt[0], "batch_in_epoch": nxt[1], "best": best,
                                "history": history, "rng": rng.bit_generator.state,
                                "torch_rng": torch.get_rng_state(), "config": model.config}, tmp)
            if last:
                stop = step < cfg.steps      # time budget reached before the step budget
                break
        epoch, pos = epoch + 1, 0
    bar.close()
    summary = {"steps": step, "wall_s": elapsed0 + time.perf_counter() - t0, "best_val_mpjpe_mm": best,
               "history": history, "out_dir": str(out), "stopped_by_time": stop}
    if cfg.export:
        from ..models.tpnet import load_model
        best_model = load_model(out / "best.pt")
        save_model(best_model, cfg.export, half=True, extra={"val_mpjpe_mm": best, "steps": step,
                                                            "train_config": asdict(cfg)})
        summary["exported"] = cfg.export
    with atomic_path(out / "summary.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=1))
    return summary
