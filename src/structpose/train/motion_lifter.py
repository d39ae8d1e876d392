"""The lifter retrained on real motion at scale: every source harmonised to one convention, sources
balanced per batch, body proportions augmented.

Differences from :mod:`structpose.train.lifter` (today's recipe, 14.7k frames): the clips are those
of :data:`FAMILIES` (DeepMimic = pybullet's 20 clips + the repository's 66, holosoma, Bandai, CMU),
each harmonised (:func:`structpose.data.harmonise.harmonise`); every batch draws the same number of
frames from each family (Bandai alone would otherwise be four fifths of all frames), uniformly over
that family's frames; body proportions are augmented per sample
(:func:`~structpose.data.harmonise.augment_proportions`) on top of today's per-bone jitter.
Supervision is 3D only (every source here has 3D), one stage: Adam with a cosine decay.  The
cameras and the detector-like 2D noise are today's (:func:`structpose.train.lifter.views`,
:func:`~structpose.train.lifter.detector_noise`).

``pose_balance`` (0 = off) draws that share of each family's frames uniformly over **torso inclination**
(:func:`pose_weights`: 15 degree bins of the pelvis -> thorax angle from vertical) instead of uniformly
over frames: every source is mostly upright (Bandai has no frame with the torso more than 60 degrees from
vertical), so crawling, floor work, hanging and climbing onto a ledge -- a few per cent of frames -- would
otherwise barely be seen (docs/motion_sources.md, "the climbing regression").

``held_out`` names a family left out entirely (leave-one-source-out); ``commercial_only`` keeps only
clips whose licence allows commercial use (:func:`structpose.data.motion_sources.commercial_ok`).
Each weight file records its clips' sources and licences (``extra["sources"]``).
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data.clip import Clip
from ..errors import StructposeError
from ..models.lifter import PELVIS, Lifter, LifterConfig, normalise_2d, save_lifter
from .lifter import LifterTrainConfig, detector_noise, optimiser_step, supervised_loss, views

FAMILIES: dict[str, tuple[str, ...]] = {
    "deepmimic": ("deepmimic", "deepmimic_repo"), "holosoma": ("holosoma",), "bandai": ("bandai",),
    "cmu": ("cmu", "cmu_boxing"),
}


@dataclass
class MotionLifterConfig:
    seed: int = 0
    families: list[str] = field(default_factory=lambda: list(FAMILIES))
    held_out: str | None = None
    commercial_only: bool = False
    harmonise: bool = True
    proportions: float = 1.0          # strength of augment_proportions (0 = off)
    pose_balance: float = 0.0         # share of each family's draws uniform over torso inclination (0 = off)
    steps: int = 6000
    lr: float = 1.0e-3
    batch: int = 256
    model: dict[str, Any] = field(default_factory=lambda: {"hidden": 512, "blocks": 3, "dropout": 0.1})
    threads: int = 1


def load_family_clips(families: list[str], harmonised: bool = True,
                      log: Callable[[str], None] = print) -> dict[str, list[Clip]]:
    """Clips per family (sources as in :data:`FAMILIES`; a missing source is an error)."""
    from ..data.harmonise import harmonise
    from ..data.sources import load_clips
    out: dict[str, list[Clip]] = {}
    for fam in families:
        if fam not in FAMILIES:
            raise StructposeError(f"unknown motion family {fam!r}; known: {', '.join(FAMILIES)}")
        clips = load_clips(FAMILIES[fam])
        out[fam] = [harmonise(c) for c in clips] if harmonised else list(clips)
        log(f"{fam}: {len(clips)} clips, {sum(c.num_frames for c in clips)} frames")
    return out


def training_sets(by_family: dict[str, list[Clip]], cfg: MotionLifterConfig
                  ) -> tuple[dict[str, list[Clip]], dict[str, list[Clip]]]:
    """(train clips per family, val clips per family) after the held-out family and licence filter."""
    from ..data.motion_sources import commercial_ok
    from ..data.splits import split_of
    train: dict[str, list[Clip]] = {}
    val: dict[str, list[Clip]] = {}
    for fam, clips in by_family.items():
        if fam == cfg.held_out:
            continue
        keep = [c for c in clips if not cfg.commercial_only or commercial_ok(c.name)]
        tr = [c for c in keep if split_of(c.name) == "train"]
        if tr:
            train[fam] = tr
            val[fam] = [c for c in keep if split_of(c.name) == "val"]
    if not train:
        raise StructposeError("no training clips left (held-out family and licence filter removed all)")
    return train, val


def torso_inclination(world: np.ndarray) -> np.ndarray:
    """Degrees between the pelvis -> thorax direction and +Y (up) for Y-up world poses ``(N, 17, 3)``."""
    v = np.asarray(world[:, 8] - world[:, 0], np.float64)
    cos = v[:, 1] / np.maximum(np.linalg.norm(v, axis=-1), 1e-9)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def pose_weights(world: np.ndarray, balance: float, bin_deg: float = 15.0) -> np.ndarray:
    """Sampling probabilities over frames: ``1 - balance`` uniform over frames, ``balance`` uniform over the
    occupied torso-inclination bins (each bin's share spread evenly over its frames)."""
    n = len(world)
    bins = np.minimum((torso_inclination(world) // bin_deg).astype(int), int(180 // bin_deg) - 1)
    counts = np.bincount(bins)
    occupied = int((counts > 0).sum())
    p = (1 - balance) / n + balance / (occupied * counts[bins])
    return p / p.sum()


def draw_balanced(pools: list[torch.Tensor], n: int, g: torch.Generator,
                  weights: list[torch.Tensor | None] | None = None) -> torch.Tensor:
    """``n`` frames, the same number (to one) from every pool whatever its size; within a pool uniform, or
    drawn with the pool's ``weights`` (probabilities over its frames) where given."""
    per = [n // len(pools) + (1 if i < n % len(pools) else 0) for i in range(len(pools))]
    weights = weights if weights is not None else [None] * len(pools)
    out = []
    for p, k, w in zip(pools, per, weights):
        idx = (torch.randint(0, p.shape[0], (k,), generator=g) if w is None
               else torch.multinomial(w, k, replacement=True, generator=g))
        out.append(p[idx])
    return torch.cat(out)


def _batch(pools: list[torch.Tensor], n: int, cfg: MotionLifterConfig, cam_cfg: LifterTrainConfig,
           g: torch.Generator, rng: np.random.Generator,
           weights: list[torch.Tensor | None] | None = None) -> dict[str, torch.Tensor]:
    frames = draw_balanced(pools, n, g, weights)
    if cfg.proportions > 0:
        from ..data.harmonise import augment_proportions
        frames = torch.as_tensor(augment_proportions(frames.numpy(), rng, cfg.proportions))
    cam, uv, f = views(frames, cam_cfg, g)
    noisy, mask = detector_noise(uv, cam_cfg, g)
    xy_n, mask, _centre, radius = normalise_2d(noisy, mask)
    scale = cam[:, PELVIS, 2] * radius / f
    rel = cam - cam[:, PELVIS:PELVIS + 1]
    return {"xy": xy_n, "mask": mask, "gt_norm": rel / scale[:, None, None], "log_scale": scale.log(),
            "valid": mask.sum(-1) >= 4}


def train(cfg: MotionLifterConfig, out: str | Path, log: Callable[[str], None] = print,
          by_family: dict[str, list[Clip]] | None = None) -> dict[str, Any]:
    """Train and write ``out`` (weights with sources/licences), ``out.json`` (summary)."""
    from ..data.motion_sources import clip_licence
    torch.set_num_threads(max(1, cfg.threads))
    torch.manual_seed(cfg.seed)
    g = torch.Generator().manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    fams = [f for f in cfg.families if f != cfg.held_out]
    by_family = by_family if by_family is not None else load_family_clips(fams, cfg.harmonise, log)
    train_sets, _val = training_sets(by_family, cfg)
    pools = [torch.as_tensor(np.concatenate([np.asarray(c.world, np.float32) for c in clips]))
             for clips in train_sets.values()]
    weights: list[torch.Tensor | None] | None = None
    if cfg.pose_balance > 0:
        weights = [torch.as_tensor(pose_weights(p.numpy(), cfg.pose_balance)) for p in pools]
    log("balanced families: " + ", ".join(f"{f} {len(p)} frames" for f, p in zip(train_sets, pools)))
    cam_cfg = LifterTrainConfig()
    model = Lifter(LifterConfig(**cfg.model))
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(cfg.steps, 1), eta_min=cfg.lr * 0.05)
    t0 = time.time()
    for step in range(cfg.steps):
        model.train()
        b = _batch(pools, cfg.batch, cfg, cam_cfg, g, rng, weights)
        pose, log_s = model(b["xy"], b["mask"])
        loss = supervised_loss(pose, log_s, b)
        optimiser_step(model, opt, sched, loss)
        if step % 500 == 0 or step == cfg.steps - 1:
            log(f"step {step:6d} loss {loss.item():.4f} ({time.time() - t0:.0f}s)")
    names = [c.name for clips in train_sets.values() for c in clips]
    licences: dict[str, int] = {}
    for n in names:
        licences[clip_licence(n)] = licences.get(clip_licence(n), 0) + 1
    summary = {"config": asdict(cfg), "wall_seconds": round(time.time() - t0, 1),
               "hardware": "1 torch thread on a shared 2-core CPU",
               "sources": {f: {"clips": len(c), "frames": len(p)} for (f, c), p in zip(train_sets.items(), pools)},
               "licences": licences, "commercial_only": cfg.commercial_only}
    save_lifter(out, model, extra={"train": summary})
    from ..io.atomic import atomic_path
    with atomic_path(Path(out).with_suffix(".json")) as tmp:
        tmp.write_text(json.dumps({**summary, "clips": names}, indent=1))
    return summary
