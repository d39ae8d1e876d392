"""The lifter fine-tuned on what MediaPipe really outputs on renders of real motion, optionally fed
MediaPipe's own 3D (its world landmarks) as extra input.

Data: the chunked video-mode render pairs of :mod:`structpose.train.render_chunks` (``{split}_*.npz``);
training chunks only, the validation chunks choose between variants, test chunks are never read here.
Each batch mixes render samples (a ``fraction``) with today's noise-model samples of the lifter recipe's
clips (``configs/lifter.yaml``), which keeps what the network knew.

A ``world`` variant starts from the base lifter with zero weights on its new inputs
(:func:`structpose.models.lifter.with_world_input`), so before fine-tuning it computes exactly the base
lifter's output; the world landmarks are dropped (given as "absent") with probability ``world_dropout``
and are always absent for noise-model samples, so one network also lifts 2D without them.
``commercial_only`` keeps only render frames of clips whose motion licence allows commercial use
(no Bandai, no DeepMimic ``sie_``/``amass_``), for a commercially usable variant.
"""
from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import StructposeError
from ..io.atomic import atomic_path
from ..io.datafolder import data_folder
from ..models.lifter import load_lifter, save_lifter, with_world_input
from .checks import dataclass_from_yaml
from .lifter import LifterTrainConfig, _frames, load_training_clips, split
from .lifter_renders import finetune, render_samples
from .render_pairs import load_pairs


@dataclass
class WorldLifterConfig:
    """``renders``: folder of render chunks (relative paths are under ``$STRUCTPOSE_DATA``); ``base``: the
    starting weights (a shipped name or a path); ``world``: add MediaPipe's world landmarks as input;
    ``fraction``: share of render samples per batch; ``noise_config``: the lifter recipe whose clips and
    noise model make the other samples (relative to the repository)."""

    renders: str = "renders/fuse_chunks"
    base: str = "today"
    world: bool = True
    fraction: float = 0.5
    world_dropout: float = 0.2
    steps: int = 3000
    lr: float = 2.5e-4
    batch: int = 256
    seed: int = 0
    commercial_only: bool = False
    noise_config: str = "configs/lifter.yaml"
    threads: int = 1


def read_config(path: str | Path) -> WorldLifterConfig:
    return dataclass_from_yaml(path, WorldLifterConfig)


def renders_dir(cfg: WorldLifterConfig) -> Path:
    p = Path(cfg.renders).expanduser()
    return p if p.is_absolute() else data_folder() / p


def load_split(folder: str | Path, split_name: str) -> dict[str, np.ndarray]:
    """All chunks ``{split_name}_*.npz`` of ``folder`` concatenated, with a ``chunk`` index per frame
    (sequences are numbered within a chunk)."""
    files = sorted(Path(folder).glob(f"{split_name}_*.npz"))
    if not files:
        raise StructposeError(f"no {split_name} render chunks in {folder}; make them with "
                              "`structpose data renders --chunks DIR`")
    parts = []
    for k, f in enumerate(files):
        d = load_pairs(f)
        d.pop("meta")
        d["chunk"] = np.full(len(d["uv"]), k, np.int32)
        parts.append(d)
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


def _commercial(clips: np.ndarray) -> np.ndarray:
    from ..data.motion_sources import commercial_ok
    names = np.unique(clips)
    ok = {n: commercial_ok(str(n)) for n in names}
    return np.array([ok[c] for c in clips], bool)


def train(cfg: WorldLifterConfig, out: str | Path, repo_root: str | Path = ".", log: Callable[[str], None] = print
          ) -> dict:
    """Fine-tune and write ``out`` (weights, float16, with what they were trained on in ``extra["train"]``)
    and ``out.json`` (the same summary).  Returns the summary."""
    from ..data.motion_sources import clip_licence
    if not 0.0 < cfg.fraction <= 1.0 or not 0.0 <= cfg.world_dropout <= 1.0 or cfg.steps < 1:
        raise StructposeError(f"fraction {cfg.fraction} must be in (0, 1], world_dropout {cfg.world_dropout} in "
                              f"[0, 1], steps {cfg.steps} >= 1")
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    t0 = time.time()
    pairs = load_split(renders_dir(cfg), "train")
    noise_cfg = LifterTrainConfig.from_yaml(Path(repo_root) / cfg.noise_config)
    keep = np.ones(len(pairs["uv"]), bool)
    if cfg.commercial_only:
        keep = _commercial(pairs["clip"])
        pairs = {k: v[keep] for k, v in pairs.items()}
    samples = render_samples(pairs, exclude_clips=tuple(noise_cfg.weak_clips))
    full, _weak, _val, _test = split(load_training_clips(noise_cfg), noise_cfg)
    f3 = _frames(full)
    base = load_lifter(cfg.base)
    model = with_world_input(base) if cfg.world else base
    log(f"render samples {len(samples['xy'])} (with mirrors) from {len(pairs['uv'])} frames; "
        f"noise-model frames {len(f3)}")
    model = finetune(model, noise_cfg, f3, samples, cfg.fraction, steps=cfg.steps, lr=cfg.lr, batch=cfg.batch,
                     seed=cfg.seed, log=log, world_dropout=cfg.world_dropout)
    used = pairs["det_found"] & ~np.isin(pairs["clip"], list(noise_cfg.weak_clips))
    names, counts = np.unique(pairs["clip"][used], return_counts=True)
    licences: dict[str, int] = {}
    for n, c in zip(names, counts):
        licences[clip_licence(str(n))] = licences.get(clip_licence(str(n)), 0) + int(c)
    families: dict[str, int] = {}
    for n, c in zip(names, counts):
        fam = str(n).split("/")[0]
        families[fam] = families.get(fam, 0) + int(c)
    summary = {"config": asdict(cfg), "wall_seconds": round(time.time() - t0, 1),
               "hardware": f"{cfg.threads} torch thread(s), {platform.processor() or platform.machine()}, "
                           "shared 2-core CPU",
               "base": cfg.base, "world_input": cfg.world, "render_frames_by_family": families,
               "render_frames_by_licence": licences, "render_clips": len(names),
               "noise_model_sources": list(noise_cfg.sources), "commercial_only": cfg.commercial_only,
               "renderer": "Anny 0.6.2 (Apache-2.0 code, CC0 assets), opencv-doc photos (BSD-3), MediaPipe 0.10.21 "
                           "pose (Apache-2.0) in video mode"}
    save_lifter(out, model, extra={"train": summary})
    with atomic_path(Path(out).with_suffix(".json")) as tmp:
        tmp.write_text(json.dumps(summary, indent=1))
    return summary
