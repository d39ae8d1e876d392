"""TP-Net and its LSTM baselines on the harmonised multi-source motion (issue 12: the paper's Table 4 at scale).

Data: every motion family of :data:`structpose.train.motion_lifter.FAMILIES` (DeepMimic, holosoma, Bandai,
CMU), harmonised to the one H36M-17 convention (:func:`structpose.data.harmonise.harmonise`), resampled to
the model rate (30 fps), split by whole clip (:mod:`structpose.data.splits`).  Training windows are drawn
**balanced per family** (the same number from each, uniform over a family's frames; Bandai would otherwise
be three quarters of them), each seen by a level camera at a random heading, tilted by up to
``pitch_deg``; speed augmentation reads the window at ``speed`` x the frame spacing (linear interpolation
between frames, ends repeated as the refiner does).  Inputs: the window corrupted by today's error model
(:class:`~structpose.data.error_model.ErrorModel`, magnitudes scaled per window by ``error_scale``), as the
shipped TP-Net recipe does (``configs/tpnet_online.yaml``); loss: :func:`structpose.train.tpnet._pair_loss`
(L2 on the pose + ``velocity_weight`` x L2 on consecutive outputs' difference).

Test: every family's **test** clips (never trained on), the middle ``test_frames`` frames, a front camera,
the error model with fixed seeds (the same noisy inputs for every model), refined by
:func:`structpose.pipeline.refiner.refine_sequence`; MPJPE and MPJVE (mm; mm per frame at 30 fps) per
family and averaged over families.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..data.clip import Clip
from ..data.error_model import ErrorModel
from ..models.windows import MODEL_FPS, window_offsets


@dataclass
class ScaleTPNetConfig:
    model: dict[str, Any] = field(default_factory=lambda: {"kind": "tpnet", "window": 4, "mode": "online",
                                                            "hidden": [1024], "representation": "relative"})
    steps: int = 1500
    batch_size: int = 256
    lr: float = 1e-3
    velocity_weight: float = 1.0
    speeds: tuple[float, ...] = (0.8, 1.0, 1.25)
    pitch_deg: float = 20.0
    error_scale: tuple[float, float] = (0.5, 1.5)
    seed: int = 0


class FamilyWindows:
    """Root-relative camera-frame windows of ``length`` model frames, drawn balanced over families."""

    def __init__(self, by_family: dict[str, list[Clip]]) -> None:
        self.families = list(by_family)
        self.frames, self.starts, self.lengths, self.clip_of = [], [], [], []
        for clips in by_family.values():
            lens = np.array([c.num_frames for c in clips])
            self.frames.append(np.concatenate([np.asarray(c.world, np.float32) for c in clips]))
            self.starts.append(np.concatenate([[0], np.cumsum(lens)[:-1]]))
            self.lengths.append(lens)
            self.clip_of.append(np.repeat(np.arange(len(clips)), lens))

    def sample(self, n: int, offsets: np.ndarray, speeds: tuple[float, ...], pitch_deg: float,
               rng: np.random.Generator) -> np.ndarray:
        """``(n, len(offsets), 17, 3)`` windows: frame ``t + offsets * speed`` of a random frame ``t``."""
        fam = np.arange(n) % len(self.families)
        out = np.empty((n, len(offsets), 17, 3), np.float32)
        speed = rng.choice(np.asarray(speeds, np.float64), size=n)
        for f in range(len(self.families)):
            m = fam == f
            k = int(m.sum())
            g = rng.integers(0, len(self.frames[f]), k)
            c = self.clip_of[f][g]
            s0, ln = self.starts[f][c], self.lengths[f][c]
            t = (g - s0)[:, None] + offsets[None, :] * speed[m][:, None]
            t = np.clip(t, 0, (ln - 1)[:, None])
            lo = np.floor(t).astype(int)
            hi = np.minimum(lo + 1, (ln - 1)[:, None])
            w = (t - lo)[..., None, None].astype(np.float32)
            F = self.frames[f]
            out[m] = (1 - w) * F[s0[:, None] + lo] + w * F[s0[:, None] + hi]
        out = out - out[:, :, :1]
        return np.einsum("bij,btkj->btki", _cameras(n, pitch_deg, rng), out).astype(np.float32)


def _cameras(n: int, pitch_deg: float, rng: np.random.Generator) -> np.ndarray:
    """World (Y up) -> camera (y down, z forward) rotations: random heading, pitch up to ``pitch_deg``
    (the closed form of :meth:`structpose.data.datasets.PoseWindowDataset.view_rotations`)."""
    yaw = rng.uniform(0, 2 * math.pi, n)
    pitch = np.radians(pitch_deg * rng.uniform(-1, 1, n))
    cp, sp, cy, sy = np.cos(pitch), np.sin(pitch), np.cos(yaw), np.sin(yaw)
    z = np.zeros(n)
    return np.stack([np.stack([cy, z, -sy], -1), np.stack([sp * sy, -cp, sp * cy], -1),
                     np.stack([-cp * sy, -sp, -cp * cy], -1)], 1)


def family_clips(split: str, log: Callable[[str], None] = print) -> dict[str, list[Clip]]:
    """Harmonised clips of ``split`` per family, at the model rate (30 fps)."""
    from ..data.resample import resample_clip
    from ..data.splits import split_of
    from .motion_lifter import FAMILIES, load_family_clips
    raw = load_family_clips(list(FAMILIES), True, log)
    return {f: [resample_clip(c, MODEL_FPS) for c in clips if split_of(c.name) == split]
            for f, clips in raw.items()}


def test_set(by_family: dict[str, list[Clip]], frames: int = 300, max_clips: int = 20, seeds: int = 2
             ) -> dict[str, list[tuple[str, np.ndarray, np.ndarray]]]:
    """Per family ``(name, clean, noisy)`` root-relative sequences: at most ``max_clips`` clips (evenly over the
    sorted list), the middle ``frames`` frames, a front camera, today's error model with ``seeds`` fixed seeds."""
    em = ErrorModel()
    out: dict[str, list[tuple[str, np.ndarray, np.ndarray]]] = {}
    for f, clips in by_family.items():
        clips = sorted(clips, key=lambda c: c.name)
        if len(clips) > max_clips:
            clips = [clips[i] for i in np.linspace(0, len(clips) - 1, max_clips).round().astype(int)]
        rows = []
        for k, c in enumerate(clips):
            a = max(0, (c.num_frames - frames) // 2)
            clean = Clip(c.name, c.source, np.asarray(c.world[a:a + frames], np.float32), c.fps).in_camera()
            clean = (clean - clean[:, :1]).astype(np.float32)
            if len(clean) < 2:
                continue
            for s in range(seeds):
                rows.append((f"{c.name}#{s}", clean, em.apply(clean, MODEL_FPS, 7919 * k + s)))
        out[f] = rows
    return out


def evaluate(model: Any, tests: dict[str, list[tuple[str, np.ndarray, np.ndarray]]]) -> dict[str, Any]:
    """MPJPE / MPJVE (mm) per family (frame-pooled) and their mean over families; ``model=None``: the input."""
    from ..metrics import mpjve
    from ..pipeline.refiner import refine_sequence
    res: dict[str, Any] = {}
    for f, rows in tests.items():
        e, v, n, nv = 0.0, 0.0, 0, 0
        for _name, clean, noisy in rows:
            out = noisy if model is None else refine_sequence(noisy, MODEL_FPS, mode=model.mode, model=model)
            out = out - out[:, :1]
            e += float(np.linalg.norm(out - clean, axis=-1).mean(-1).sum())
            v += float(np.asarray(mpjve(out, clean, "none")).sum())
            n, nv = n + len(clean), nv + len(clean) - 1
        res[f] = {"mpjpe": 1000 * e / n, "mpjve": 1000 * v / nv, "frames": n}
    res["mean"] = {k: float(np.mean([res[f][k] for f in tests])) for k in ("mpjpe", "mpjve")}
    return res


def train(cfg: ScaleTPNetConfig, data: FamilyWindows, log: Callable[[str], None] = print) -> tuple[Any, float]:
    """Train one model; returns ``(model, wall seconds)``."""
    from ..models.tpnet import build_model
    from .tpnet import _pair_loss, corrupt
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    model = build_model(cfg.model)
    em = ErrorModel()
    # N + 1 frames per sample: the window and the one a frame later (two consecutive outputs)
    offsets = np.append(window_offsets(model.window, model.mode), window_offsets(model.window, model.mode)[-1] + 1)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s / cfg.steps, 1))))
    t0 = time.perf_counter()
    model.train()
    for step in range(cfg.steps):
        clean = data.sample(cfg.batch_size, offsets, cfg.speeds, cfg.pitch_deg, rng)
        noisy = corrupt(clean, em, cfg.error_scale, rng)
        loss = _pair_loss(model, torch.from_numpy(noisy), torch.from_numpy(clean), cfg.velocity_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step(), sched.step()
        if step % 500 == 0 or step == cfg.steps - 1:
            log(f"step {step} loss {loss.item():.3e} ({time.perf_counter() - t0:.0f} s)")
    model.eval()
    return model, time.perf_counter() - t0
