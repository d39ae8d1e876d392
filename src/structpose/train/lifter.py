"""Training the lifter the paper's way (Sec. 4.3), on real mocap seen through random virtual cameras.

Every minibatch holds 3D samples and 2D-only samples in **equal proportion**.  The 2D-only samples
come from clips whose 3D is withheld from training (standing in for MPII): they are only ever seen as
2D, and supervise depth weakly through ``structure_aware_loss`` on ground-truth xy + predicted z.
Stages (each a block of the YAML config): warm start on 3D only; + Lg + La; + Ls at a lower rate.
The 2D-only samples are in every batch of every stage (weight 0 in the warm start), so that all
stages and all ablation arms see the same batch composition; the network uses LayerNorm, so the mix
cannot shift normalisation statistics either.

Inputs look like a detector's: Gaussian noise proportional to body size, rare outliers, missing
joints (single joints, cropped legs, an occluded arm), the 4 detector-invisible joints synthesised.
"""
from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from ..cameras import Y_UP_FLIP
from ..data.clip import Clip
from ..data.detector_noise import detector_noise
from ..errors import StructposeError
from ..models.lifter import PELVIS, Lifter, LifterConfig, normalise_2d, save_lifter
from ..skeleton import H36M17
from . import checks as C

_PARENTS = torch.tensor([max(p, 0) for p in H36M17.parents])
# symmetric bone-length augmentation: left and right twins share a factor
_TWIN = np.arange(H36M17.num_joints)
for _a, _b in H36M17.left_right:
    _TWIN[max(_a, _b)] = min(_a, _b)


@dataclass
class Stage:
    name: str
    steps: int
    lr: float
    lambda_g: float = 0.0
    lambda_a: float = 0.0
    lambda_s: float = 0.0
    angle_margin: float = 0.0     # 0 = the paper's Eq. 1 (see losses.illegal_angle_loss)


@dataclass
class LifterTrainConfig:
    seed: int = 0
    sources: list[str] = field(default_factory=lambda: ["deepmimic", "holosoma"])
    weak_clips: list[str] = field(default_factory=list)      # 2D-only: 3D withheld
    holosoma_stride: int = 4                                    # 120 Hz -> 30 Hz
    batch_3d: int = 128
    batch_2d: int = 128
    model: dict[str, Any] = field(default_factory=dict)
    stages: list[Stage] = field(default_factory=list)
    # virtual cameras and detector-like noise
    distance: tuple[float, float] = (2.5, 9.0)
    elevation_deg: tuple[float, float] = (-15.0, 35.0)
    roll_deg: float = 8.0
    off_axis_deg: float = 25.0     # subject's angle off the optical axis (x; y gets 0.6x of it)
    focal_px: tuple[float, float] = (400.0, 1600.0)
    noise_frac: float = 0.04       # max per-sample std of 2D noise, fraction of the RMS radius
    outlier_prob: float = 0.02
    drop_prob: float = 0.04
    crop_legs_prob: float = 0.08
    drop_arm_prob: float = 0.05
    bone_jitter: float = 0.08
    flip: bool = True
    threads: int = 1
    checkpoint_every: int = 250    # steps between resume checkpoints (``OUT.ckpt.pt``)

    @classmethod
    def from_yaml(cls, path: str | Path) -> LifterTrainConfig:
        path = Path(path)
        doc = C.read_yaml_mapping(path, "configs/lifter.yaml")
        known = set(cls.__dataclass_fields__)
        bad = sorted(set(doc) - known)
        if bad:
            raise StructposeError(f"{path}: unknown config keys {', '.join(bad)}; known: {', '.join(sorted(known))}")
        stages = doc.get("stages", [])
        if not isinstance(stages, list) or not stages:
            raise StructposeError(f"{path}: stages is {stages!r}; expected a non-empty list of training stages")
        try:
            doc["stages"] = [Stage(**C.mapping(s, f"stages[{i}]", str(path))) for i, s in enumerate(stages)]
            cfg = cls(**doc)
        except TypeError as e:
            raise StructposeError(f"{path}: bad stage or value ({e})") from None
        cfg.validate(str(path))
        return cfg

    def validate(self, where: str = "config") -> None:
        """Type and range of every field, one line naming the key (also after command-line overrides)."""
        C.integer(self.seed, "seed", where, 0)
        C.strings(self.sources, "sources", where)
        C.strings(self.weak_clips, "weak_clips", where, nonempty=False)
        C.integer(self.holosoma_stride, "holosoma_stride", where, 1, 120)
        C.integer(self.batch_3d, "batch_3d", where, 1, 1_000_000)
        C.integer(self.batch_2d, "batch_2d", where, 1, 1_000_000)
        C.mapping(self.model, "model", where)
        unknown = set(self.model) - set(LifterConfig.__dataclass_fields__)
        if unknown:
            raise StructposeError(f"{where}: unknown model keys {sorted(unknown)}; known: "
                                  f"{sorted(LifterConfig.__dataclass_fields__)}")
        if "hidden" in self.model:
            C.integer(self.model["hidden"], "model.hidden", where, 1, 65536)
        if "blocks" in self.model:
            C.integer(self.model["blocks"], "model.blocks", where, 0, 100)
        if "dropout" in self.model:
            C.number(self.model["dropout"], "model.dropout", where, 0, 1, hi_open=True)
        if not self.stages:
            raise StructposeError(f"{where}: no training stages; add a 'stages' list")
        for i, st in enumerate(self.stages):
            k = f"stages[{i}]"
            C.text(st.name, f"{k}.name", where)
            C.integer(st.steps, f"{k}.steps", where, 1)
            C.number(st.lr, f"{k}.lr", where, 0, 10, lo_open=True)
            for lam in ("lambda_g", "lambda_a", "lambda_s"):
                C.number(getattr(st, lam), f"{k}.{lam}", where, 0, 1e6)
            C.number(st.angle_margin, f"{k}.angle_margin", where, 0, 1, hi_open=True)
        self.distance = C.pair(self.distance, "distance", where, 0, 1000, lo_open=True)
        self.elevation_deg = C.pair(self.elevation_deg, "elevation_deg", where, -89, 89)
        C.number(self.roll_deg, "roll_deg", where, 0, 180)
        C.number(self.off_axis_deg, "off_axis_deg", where, 0, 80)
        self.focal_px = C.pair(self.focal_px, "focal_px", where, 0, 1e6, lo_open=True)
        C.number(self.noise_frac, "noise_frac", where, 0, 10)
        for k in ("outlier_prob", "drop_prob", "crop_legs_prob", "drop_arm_prob"):
            C.number(getattr(self, k), k, where, 0, 1)
        C.number(self.bone_jitter, "bone_jitter", where, 0, 1, hi_open=True)
        C.boolean(self.flip, "flip", where)
        C.integer(self.threads, "threads", where, 1, 1024)
        C.integer(self.checkpoint_every, "checkpoint_every", where, 1)


def load_training_clips(cfg: LifterTrainConfig) -> list[Clip]:
    """Real mocap of the configured sources (DeepMimic, holosoma climbing), H36M-17, Y-up metres."""
    clips: list[Clip] = []
    for src in cfg.sources:
        if src == "deepmimic":
            from ..data import deepmimic
            clips += deepmimic.load_all()
        else:
            try:
                from ..data.sources import load_clips
            except ImportError:
                raise StructposeError(f"source {src!r} needs structpose.data.sources (not installed)") from None
            got = load_clips([src])
            if src == "holosoma":
                got = [Clip(c.name, c.source, c.world[::cfg.holosoma_stride], c.fps / cfg.holosoma_stride)
                       for c in got]
            clips += got
    return clips


def split(clips: list[Clip], cfg: LifterTrainConfig) -> tuple[list[Clip], list[Clip], list[Clip], list[Clip]]:
    """(3D train, 2D-only train, val, test), by whole clip.

    val / test follow :mod:`structpose.data.splits`; ``weak_clips`` (config) are taken out of the
    train set and seen only as 2D.  A weak clip that is not a training clip is an error.
    """
    from ..data.splits import split_clips
    sets = split_clips(clips)
    train_names = {c.name for c in sets["train"]}
    for n in cfg.weak_clips:
        if n not in train_names:
            raise StructposeError(f"config names 2D-only clip {n!r}, which is not a training clip; "
                                  f"training clips: {', '.join(sorted(train_names))}")
    weak = [c for c in sets["train"] if c.name in cfg.weak_clips]
    full = [c for c in sets["train"] if c.name not in cfg.weak_clips]
    return full, weak, sets["val"], sets["test"]


def _frames(clips: list[Clip]) -> torch.Tensor:
    return torch.as_tensor(np.concatenate([np.array(c.world, np.float32) for c in clips]))


def _rot(axis: int, ang: torch.Tensor) -> torch.Tensor:
    c, s = torch.cos(ang), torch.sin(ang)
    o, z = torch.ones_like(ang), torch.zeros_like(ang)
    if axis == 0:
        m = [o, z, z, z, c, -s, z, s, c]
    elif axis == 1:
        m = [c, z, s, z, o, z, -s, z, c]
    else:
        m = [c, -s, z, s, c, z, z, z, o]
    return torch.stack(m, -1).reshape(*ang.shape, 3, 3)


def views(world: torch.Tensor, cfg: LifterTrainConfig, g: torch.Generator
          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random virtual cameras for ``(B, 17, 3)`` Y-up world poses.

    Returns ``(cam (B,17,3) camera-frame metres, uv (B,17,2) pixels, focal (B,) pixels)``; the principal point is 0 and the
    subject sits up to ``off_axis_deg`` (x) off the optical axis.
    """
    B = world.shape[0]
    u = lambda lo, hi: lo + (hi - lo) * torch.rand(B, generator=g)
    p = world - world[:, PELVIS:PELVIS + 1]
    # bone-length jitter (twins share a factor), then rebuild the tree from the root outwards
    k = 1 + cfg.bone_jitter * (2 * torch.rand(B, 17, generator=g) - 1)
    k = k[:, torch.as_tensor(_TWIN)]
    bones = p - p[:, _PARENTS]
    q = torch.zeros_like(p)
    for j in range(1, 17):
        q[:, j] = q[:, H36M17.parents[j]] + k[:, j, None] * bones[:, j]
    q = q * u(0.85, 1.15)[:, None, None]                      # body size
    yaw = u(0, 2 * math.pi)
    q = q @ _rot(1, yaw).transpose(-1, -2)
    q = q * torch.tensor(Y_UP_FLIP, dtype=q.dtype)               # Y-up world -> y-down, z-forward camera
    R = _rot(0, torch.deg2rad(u(*cfg.elevation_deg))) @ _rot(2, torch.deg2rad(u(-cfg.roll_deg, cfg.roll_deg)))
    q = q @ R.transpose(-1, -2)
    if cfg.flip:
        flip = torch.rand(B, generator=g) < 0.5
        q[flip] = (q[flip] * torch.tensor([-1.0, 1.0, 1.0]))[:, torch.as_tensor(H36M17.flip_permutation)]
    d = u(*cfg.distance)
    off = torch.tan(torch.deg2rad(u(-cfg.off_axis_deg, cfg.off_axis_deg)))[:, None] * torch.stack([torch.ones(B), 0.6 * torch.ones(B)], -1)
    root = torch.stack([off[:, 0] * d, off[:, 1] * d * torch.sign(torch.rand(B, generator=g) - 0.5), d], -1)
    cam = q + root[:, None]
    cam[..., 2] = cam[..., 2].clamp_min(0.3)
    f = u(*cfg.focal_px)
    uv = cam[..., :2] / cam[..., 2:3] * f[:, None, None]
    return cam, uv, f


def make_batch(frames: torch.Tensor, n: int, cfg: LifterTrainConfig, g: torch.Generator) -> dict[str, torch.Tensor]:
    """``n`` random frames through random cameras and detector noise, with normalised targets."""
    idx = torch.randint(0, frames.shape[0], (n,), generator=g)
    cam, uv, f = views(frames[idx], cfg, g)
    noisy, mask = detector_noise(uv, cfg, g)
    xy_n, mask, _centre, radius = normalise_2d(noisy, mask)
    scale = cam[:, PELVIS, 2] * radius / f                    # metres per normalised unit
    rel = cam - cam[:, PELVIS:PELVIS + 1]
    gt_xy = (uv - uv[:, PELVIS:PELVIS + 1]) / radius[:, None, None]   # clean 2D, same units as input
    return {"xy": xy_n, "mask": mask, "gt_norm": rel / scale[:, None, None], "log_scale": scale.log(),
            "gt_m": rel, "gt_xy": gt_xy, "valid": mask.sum(-1) >= 4}


def supervised_loss(pose: torch.Tensor, log_s: torch.Tensor, b: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean per-joint Euclidean error in normalised units + squared log-scale error (3D samples)."""
    v = b["valid"].float()
    e = (pose - b["gt_norm"]).norm(dim=-1).mean(-1) + (log_s - b["log_scale"]).square()
    return (e * v).sum() / v.sum().clamp_min(1)


def weak_loss(pose: torch.Tensor, b: dict[str, torch.Tensor], st: Stage) -> torch.Tensor:
    """Eq. 3 on ground-truth xy with the predicted z (2D-only samples)."""
    from ..losses import structure_aware_loss
    per = structure_aware_loss(pose, gt_xy=b["gt_xy"], lambda_a=st.lambda_a, lambda_s=st.lambda_s,
                               lambda_g=st.lambda_g, margin=st.angle_margin, reduction="none")
    v = b["valid"].float()
    return (per * v).sum() / v.sum().clamp_min(1)


@torch.no_grad()
def evaluate(model: Lifter, clips: list[Clip], cfg: LifterTrainConfig, seed: int = 1234,
             per_clip: int = 400) -> dict[str, float]:
    """MPJPE / PA-MPJPE (mm, root-relative, 17 joints) on ``clips`` through fixed random cameras + noise."""
    from ..geometry import similarity_procrustes
    g = torch.Generator().manual_seed(seed)
    preds, gts = [], []
    for c in clips:
        fr = torch.as_tensor(np.array(c.world, np.float32))
        sel = torch.linspace(0, fr.shape[0] - 1, min(per_clip, fr.shape[0])).long()
        b = make_batch(fr[sel], len(sel), cfg, g)
        model.eval()
        pose, log_s = model(b["xy"], b["mask"])
        preds.append((pose * log_s.exp()[:, None, None]).numpy())
        gts.append(b["gt_m"].numpy())
    p, t = np.concatenate(preds), np.concatenate(gts)
    pa = similarity_procrustes(p, t, warn=False).aligned
    return {"mpjpe_mm": float(np.linalg.norm(p - t, axis=-1).mean()) * 1000,
            "pa_mpjpe_mm": float(np.linalg.norm(pa - t, axis=-1).mean()) * 1000, "frames": len(p)}


def optimiser_step(model: torch.nn.Module, opt: torch.optim.Optimizer, sched: Any, loss: torch.Tensor,
                   clip: float = 5.0) -> None:
    """One update of every lifter recipe: backward, gradient norm clipped to ``clip``, optimiser and schedule step."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    opt.step()
    sched.step()


def train_steps(model: Lifter, opt: torch.optim.Optimizer, st: Stage, f3: torch.Tensor, f2: torch.Tensor,
                cfg: LifterTrainConfig, g: torch.Generator, log: Callable[[str], None] = print,
                t0: float | None = None, start: int = 0, state: dict[str, Any] | None = None,
                on_step: Callable[[int, Any], None] | None = None) -> None:
    """One stage: ``st.steps`` Adam steps at ``st.lr`` (cosine to 0.1x), batches of 3D frames ``f3`` and
    2D-only frames ``f2`` in the config's proportion, Eq. 3 on the 2D-only half when any lambda > 0.

    Resuming: ``start`` steps are done and ``state`` holds the optimiser and schedule state saved then
    (``g`` and torch's RNG restored by the caller); ``on_step(done, sched)`` runs after every step."""
    t0 = time.time() if t0 is None else t0
    for pg in opt.param_groups:
        pg["lr"] = st.lr
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(st.steps, 1), eta_min=st.lr * 0.1)
    if state is not None:
        sched.load_state_dict(state["sched"])
        opt.load_state_dict(state["opt"])   # after the schedule: restores the current learning rate
    use_weak = st.lambda_a or st.lambda_g or st.lambda_s
    n3 = cfg.batch_3d
    for step in range(start, st.steps):
        model.train()
        b3, b2 = make_batch(f3, cfg.batch_3d, cfg, g), make_batch(f2, cfg.batch_2d, cfg, g)
        # one forward over the mixed batch: same composition in every stage and ablation arm
        pose, log_s = model(torch.cat([b3["xy"], b2["xy"]]), torch.cat([b3["mask"], b2["mask"]]))
        loss3 = supervised_loss(pose[:n3], log_s[:n3], b3)
        lw = weak_loss(pose[n3:], b2, st) if use_weak else torch.zeros(())
        loss = loss3 + lw
        optimiser_step(model, opt, sched, loss)
        if step % 250 == 0 or step == st.steps - 1:
            log(f"[{st.name}] step {step:5d} loss3d {loss3.item():.4f} weak {lw.item():.4f} "
                f"({time.time() - t0:.0f}s)")
        if on_step is not None:
            on_step(step + 1, sched)


def checkpoint_path(out: str | Path) -> Path:
    """Where ``train`` keeps its resume checkpoint for weights file ``out``: ``OUT.ckpt.pt`` beside it."""
    out = Path(out)
    return out.with_name(out.stem + ".ckpt.pt")


def output_paths(out: str | Path) -> dict[str, Path]:
    """Every file ``train`` writes for weights file ``out``, by role."""
    out = Path(out)
    return {"--out": out, "the config copy written for --out,": out.with_suffix(".yaml"),
            "the log written for --out,": out.with_suffix(".json"),
            "the checkpoint written for --out,": checkpoint_path(out)}


def train(cfg: LifterTrainConfig, out: str | Path, log: Callable[[str], None] = print,
          clips: list[Clip] | None = None, resume: bool = False) -> dict[str, Any]:
    """Run all stages; write ``out`` (weights), ``out.yaml`` (config) and ``out.json`` (log). Returns the log.

    A checkpoint ``OUT.ckpt.pt`` (model, optimiser, schedule, generator and RNG state, stage and step) is
    written every ``checkpoint_every`` steps and after each stage; ``resume=True`` continues from it and
    ends with exactly the weights of an uninterrupted run (the batches are drawn from the saved generator)."""
    cfg.validate()
    out = Path(out)
    torch.manual_seed(cfg.seed)
    g = torch.Generator().manual_seed(cfg.seed)
    full, weak, val, test = split(clips if clips is not None else load_training_clips(cfg), cfg)
    if not full or not weak:
        raise StructposeError("need at least one 3D training clip and one 2D-only clip; check weak_clips")
    f3, f2 = _frames(full), _frames(weak)
    log(f"3D clips {len(full)} ({len(f3)} frames), 2D-only clips {len(weak)} ({len(f2)} frames), "
        f"val {len(val)}, test {len(test)}")
    model = Lifter(LifterConfig(**cfg.model))
    opt = torch.optim.Adam(model.parameters(), lr=cfg.stages[0].lr)
    history: list[dict[str, Any]] = []
    ckpt = checkpoint_path(out)
    first_stage, first_step, state, elapsed = 0, 0, None, 0.0
    if resume and ckpt.is_file():
        from ..io.guards import load_torch
        blob = load_torch(ckpt, "checkpoint", "drop --resume or use another --out")
        if not isinstance(blob, dict) or blob.get("kind") != "lifter-train" or \
                blob.get("config") != _jsonable(asdict(cfg)):
            raise StructposeError(f"{ckpt} was not written by this training config; drop --resume, or use the "
                                  "config (and --seed/--steps-scale) it was started with")
        model.load_state_dict(blob["model"])
        opt.load_state_dict(blob["opt"])     # Adam's moments carry over from stage to stage
        first_stage, first_step, history = int(blob["stage"]), int(blob["step"]), list(blob["history"])
        state, elapsed = {"opt": blob["opt"], "sched": blob["sched"]}, float(blob["seconds"])
        g.set_state(blob["gen"])
        torch.set_rng_state(blob["torch_rng"])
        log(f"resumed from {ckpt}: stage {first_stage}, step {first_step}")
    t0 = time.time() - elapsed

    def save(stage: int, step: int, sched: Any) -> None:
        from ..io.atomic import atomic_path
        blob = {"kind": "lifter-train", "config": _jsonable(asdict(cfg)), "stage": stage, "step": step,
                "model": model.state_dict(), "opt": opt.state_dict(),
                "sched": sched.state_dict() if sched is not None else None, "history": history,
                "gen": g.get_state(), "torch_rng": torch.get_rng_state(), "seconds": time.time() - t0}
        with atomic_path(ckpt) as tmp:
            torch.save(blob, tmp)

    for i, st in enumerate(cfg.stages):
        if i < first_stage:
            continue
        def on_step(done: int, sched: Any, i: int = i, st: Stage = st) -> None:
            if done % cfg.checkpoint_every == 0 and done < st.steps:
                save(i, done, sched)
        resume_here = state if i == first_stage and first_step > 0 else None
        train_steps(model, opt, st, f3, f2, cfg, g, log, t0, start=first_step if resume_here else 0,
                    state=resume_here, on_step=on_step)
        row: dict[str, Any] = {"stage": st.name, "seconds": round(time.time() - t0, 1)}
        if val:
            row.update({f"val_{k}": v for k, v in evaluate(model, val, cfg).items()})
            log(f"[{st.name}] val: MPJPE {row['val_mpjpe_mm']:.1f} mm, PA-MPJPE {row['val_pa_mpjpe_mm']:.1f} mm")
        history.append(row)
        save(i + 1, 0, None)                # stage done: a resume starts the next stage afresh
    final = {f"test_{k}": v for k, v in evaluate(model, test, cfg).items()} if test else {}
    log(f"test: {final}")
    summary = {"config": _jsonable(asdict(cfg)), "history": history, "final": final,
               "wall_seconds": round(time.time() - t0, 1),
               "clips": {"3d": [c.name for c in full], "2d_only": [c.name for c in weak],
                         "val": [c.name for c in val], "test": [c.name for c in test]}}
    save_lifter(out, model, extra={"train": summary})
    from ..io.atomic import atomic_path
    with atomic_path(out.with_suffix(".yaml")) as tmp:
        tmp.write_text(yaml.safe_dump(_jsonable(asdict(cfg)), sort_keys=False))
    with atomic_path(out.with_suffix(".json")) as tmp:
        tmp.write_text(json.dumps(summary, indent=1))
    return summary


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    return x
