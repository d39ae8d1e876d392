"""Data for SAP-Net training here: renders of real mocap (a STAND-IN for MPII / Human3.6M images).

Clip sets (by whole clip, never by frame; all from the ``train`` split of
:mod:`structpose.data.splits`, so the held-out ``test`` clips stay unseen):

* 3D set (the paper's H36M role): :data:`CLIPS_3D`;
* 2D-only set (the paper's MPII role): :data:`CLIPS_2D` — different clips, depth labels dropped;
* held-out evaluation: every ``test``-split clip (motion never seen in training).

Rendered arrays are cached as ``.npz`` under ``data.cache_dir`` keyed by their parameters, so that all
stages (and all DDP ranks) train on the very same crops.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from ..codec import bone_length_sum, depth_target, lift_to_3d, normalise_xy
from ..data.images import Augment, RenderedImages
from ..data.sources import load_clips
from ..data.splits import SPLIT_TABLE
from ..errors import StructposeError
from ..io.atomic import atomic_path
from ..losses import canonical_bone_lengths
from ..metrics import illegal_angle_ratio, mpjpe, pa_mpjpe, symmetry_error
from ..pipeline.sapnet import predict_crops

RENDER_VERSION = 1     # bump when the renderer's output changes: invalidates caches
CLIPS_3D = ("holosoma/climb_seq_0", "holosoma/climb_seq_1", "deepmimic/backflip", "deepmimic/crawl",
            "deepmimic/jump", "deepmimic/run", "deepmimic/spin", "deepmimic/walk",
            "deepmimic/walker_turn_left0")
CLIPS_2D = ("holosoma/climb_seq_2", "deepmimic/dance_a", "deepmimic/getup_facedown", "deepmimic/roll",
            "deepmimic/spinkick", "deepmimic/walker_0walk_forward", "deepmimic/walker_turn_right0")


def _render_cached(names: tuple[str, ...], num: int, size: int, seed: int, cache: Path, rank: int,
                   loaded: list) -> Path:
    """The cached render of ``names``; ``loaded``: the mocap clips read so far in this build (the
    caller's list, extended here: a source is read at most once per :func:`build_datasets`)."""
    key = json.dumps([RENDER_VERSION, sorted(names), num, size, seed])
    path = cache / f"renders_{hashlib.sha1(key.encode()).hexdigest()[:12]}.npz"
    if rank == 0 and not path.is_file():
        from ..render import render_dataset
        # the mocap is read only when something must be rendered, and only the sources named
        have = {c.source for c in loaded}
        need = sorted({n.split("/")[0] for n in names} - have)
        if need:
            loaded.extend(load_clips(need))
        chosen = [c for c in loaded if c.name in names]
        missing = set(names) - {c.name for c in chosen}
        if missing:
            raise StructposeError(f"clips {sorted(missing)} not found; `structpose data sources` lists them")
        arrays = render_dataset(chosen, num, size, seed)
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
    return path


def _load(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


def normalised_poses(a: dict[str, np.ndarray]) -> np.ndarray:
    """Rendered arrays -> ``(N, 17, 3)`` poses in normalised crop units (xy_n, z_n)."""
    size = a["images"].shape[1]
    return np.concatenate([normalise_xy(a["uv"], size), depth_target(a["joints_cam"], a["focal"], size)[..., None]], -1)


def canonical_lengths_normalised(a: dict[str, np.ndarray]) -> np.ndarray:
    """Mean bone lengths of the 3D set in normalised units: Lg's canonical lengths l_e."""
    return canonical_bone_lengths([normalised_poses(a)])


class _Concat(torch.utils.data.ConcatDataset):
    def set_epoch(self, epoch: int) -> None:
        for ds in self.datasets:
            ds.set_epoch(epoch)


def _photo_sets(d: dict, size: int, seed: int) -> dict[str, Any]:
    """``data.datasets: {"2d": [{annotations, images, fmt?}], "3d": [...]}`` -> photo datasets (the
    paper's MPII as 2D-only, Human3.6M / MPI-INF-3DHP as 3D).  Held-out evaluation of photo sets is
    not run here (``test`` is None)."""
    from ..data.images import annotated_images
    aug = Augment(**d.get("augment", {})) if d.get("augment", True) is not False else Augment.none()
    sets: dict[str, Any] = {}
    for role, three_d, salt in (("2d", False, 1), ("3d", True, 0)):
        entries = d["datasets"].get(role) or []
        if not entries:
            raise StructposeError(f"data.datasets.{role} is empty; give at least one annotation file")
        parts = [annotated_images(e["annotations"], e["images"], size, three_d, e.get("fmt"),
                                  float(e.get("box_margin", 1.25)), aug, seed + salt) for e in entries]
        sets[role] = _Concat(parts)
    p3 = sets["3d"].datasets
    xy = np.concatenate([(p.uv - p.centres[:, None]) / p.sides[:, None, None] for p in p3])
    z = np.concatenate([p.z for p in p3])
    cam = np.concatenate([p.cam for p in p3])
    ok = np.isfinite(xy).all((1, 2))
    sets["canonical"] = canonical_bone_lengths([np.concatenate([xy[ok], z[ok][..., None]], -1)])
    sets["bone_sum"] = float(bone_length_sum(cam - cam[:, :1]).mean())
    sets["test"] = None
    return sets


def build_datasets(cfg: dict, size: int, seed: int, rank: int = 0) -> dict[str, Any]:
    d = cfg.get("data", {})
    if "datasets" in d:
        return _photo_sets(d, size, seed)
    if "crops" in d:             # realistic renders + real frames (structpose.train.sapnet_crops)
        from .sapnet_crops import crop_sets
        return crop_sets(d, size, seed)
    r = d.get("renders", {})
    cache = Path(d.get("cache_dir", "~/.cache/structpose/renders")).expanduser()
    cache.mkdir(parents=True, exist_ok=True)
    rsize, rseed = int(r.get("size", size)), int(r.get("seed", 0))
    names3, names2 = tuple(d.get("clips_3d", CLIPS_3D)), tuple(d.get("clips_2d", CLIPS_2D))
    if set(names3) & set(names2):
        raise StructposeError(f"2D-only and 3D clip sets overlap: {sorted(set(names3) & set(names2))}")
    test_names = tuple(d.get("clips_test", [n for n, s in SPLIT_TABLE.items() if s == "test"]))
    if set(test_names) & (set(names3) | set(names2)):
        raise StructposeError("held-out test clips overlap the training clips")
    loaded: list = []
    p3 = _render_cached(names3, int(r.get("num_3d", 2000)), rsize, rseed, cache, rank, loaded)
    p2 = _render_cached(names2, int(r.get("num_2d", 2000)), rsize, rseed + 1, cache, rank, loaded)
    n_test = int(r.get("num_test", 300))
    pt = _render_cached(test_names, n_test, rsize, rseed + 2, cache, rank, loaded) if n_test and test_names else None
    if dist.is_initialized():
        dist.barrier()             # rank 0 has rendered and cached; now every rank reads the same files
    a3, a2 = _load(p3), _load(p2)
    aug = Augment(**d.get("augment", {})) if d.get("augment", True) is not False else Augment.none()
    return {
        "3d": RenderedImages(a3, True, size, aug, seed),
        "2d": RenderedImages(a2, False, size, aug, seed + 1),
        "test": _load(pt) if pt else None,
        "canonical": canonical_lengths_normalised(a3),
        "bone_sum": float(bone_length_sum(a3["joints_cam"]).mean()),
    }


def evaluate(net: torch.nn.Module, test: dict[str, np.ndarray], bone_sum: float) -> dict[str, float]:
    """Held-out renders -> MPJPE / PA-MPJPE (mm, root-relative, prediction scaled to the canonical
    total bone length ``bone_sum`` as Zhou / Dabral do), 2D PCK@0.05 of the crop side, structure stats."""
    size = net.config.input_size
    images = test["images"]
    if images.shape[1] != size:
        import cv2
        images = np.stack([cv2.resize(im, (size, size), interpolation=cv2.INTER_AREA) for im in images])
    k = size / test["images"].shape[1]
    uv, z, _ = predict_crops(net, images)
    pred = lift_to_3d(normalise_xy(uv, size), z, bone_sum)
    gt = test["joints_cam"] - test["joints_cam"][:, :1]
    gt_sum = bone_length_sum(gt)
    pred_gt_scale = pred * (gt_sum / bone_length_sum(pred))[:, None, None]
    uv_gt = (test["uv"] + 0.5) * k - 0.5
    err2d = np.linalg.norm(uv - uv_gt, axis=-1) / size
    return {
        "n": len(gt),
        "mpjpe_mm": float(mpjpe(pred, gt)) * 1000,
        "pa_mpjpe_mm": float(pa_mpjpe(pred, gt)) * 1000,
        "mpjpe_gt_scale_mm": float(mpjpe(pred_gt_scale, gt)) * 1000,
        "pck2d_0.05": float((err2d < 0.05).mean()),
        "symmetry_error_mm": float(symmetry_error(pred)) * 1000,
        "illegal_angle_pct": float(illegal_angle_ratio(pred)),
    }
