"""Fine-tuning the lifter on what MediaPipe really outputs: (detector 2D -> true 3D) pairs from Anny renders
(``structpose data renders``), mixed with the hand-made noise model of :mod:`structpose.train.lifter`.

Render samples go through the same on-axis re-projection the product applies before lifting
(``pipeline.lifting.PoseLifter``): the detected keypoints are turned by the rotation that brings the
detected pelvis ray onto the optical axis, and the true 3D is turned by the same rotation, so the network
sees exactly the inputs it will see in use.  Mirrored copies (x -> -x, left <-> right) double the set.
Clips the lifter recipe keeps 2D-only (``weak_clips``) are left out of the render samples.
"""
from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch

from ..errors import StructposeError
from ..models.lifter import PELVIS, Lifter, normalise_2d
from ..skeleton import H36M17
from .lifter import LifterTrainConfig, make_batch, optimiser_step, supervised_loss

_FLIP = torch.as_tensor(H36M17.flip_permutation)


def _on_axis(kp: np.ndarray, mask: np.ndarray, c: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame rotation taking the pelvis ray onto +z and the keypoints re-projected through it
    (principal point 0, focal ``f``).  Returns (rotations (N, 3, 3), keypoints (N, 17, 2))."""
    from ..pipeline.lifting import _pelvis_px, ray_rotation
    n = (np.nan_to_num(kp) - c[:, None]) / f[:, None, None]
    R = ray_rotation(_pelvis_px(n, mask), np.zeros(2), 1.0)
    rays = np.concatenate([n, np.ones(n.shape[:2] + (1,))], -1) @ np.swapaxes(R, 1, 2)
    return R, rays[..., :2] / rays[..., 2:] * f[:, None, None]


def render_samples(pairs: dict[str, np.ndarray], min_score: float = 0.3, exclude_clips: tuple[str, ...] = ()
                   ) -> dict[str, torch.Tensor]:
    """Frames where MediaPipe found the person -> tensors ``xy`` (N, 17, 2) on-axis pixels, ``mask``,
    ``rel`` (N, 17, 3) true root-relative metres in the same rotated frame, ``root`` (N, 3) the true pelvis
    there (near the optical axis) and ``depth`` its z, ``f`` (N,) focal, ``world`` (N, 17, 3) MediaPipe's
    world landmarks root-relative in the same rotated frame (NaN where it gave none); mirrored copies
    appended."""
    keep = pairs["det_found"] & ~np.isin(pairs["clip"], list(exclude_clips))
    if not keep.any():
        raise StructposeError("no render frames with a detection to train on")
    kp = pairs["det_2d"][keep].astype(np.float64)
    mask = (np.isfinite(kp).all(-1) & (pairs["det_scores"][keep] >= min_score)).astype(np.float32)
    f = pairs["focal"][keep, 0].astype(np.float64)
    R, xy = _on_axis(kp, mask, pairs["centre"][keep].astype(np.float64), f)
    cam = pairs["joints_cam"][keep].astype(np.float64)
    rot = cam @ np.swapaxes(R, 1, 2)
    rel = rot - rot[:, PELVIS:PELVIS + 1]
    # pairs without MediaPipe's world landmarks (e.g. another detector's) give "absent" (NaN)
    world = pairs["det_world"][keep].astype(np.float64) if "det_world" in pairs else np.full(cam.shape, np.nan)
    world = (world - world[:, PELVIS:PELVIS + 1]) @ np.swapaxes(R, 1, 2)
    out = {"xy": torch.as_tensor(xy, dtype=torch.float32), "mask": torch.as_tensor(mask),
           "world": torch.as_tensor(world, dtype=torch.float32),
           "rel": torch.as_tensor(rel, dtype=torch.float32),
           "root": torch.as_tensor(rot[:, PELVIS], dtype=torch.float32), "f": torch.as_tensor(f).float()}
    out["depth"] = out["root"][:, 2]
    flip = {"xy": out["xy"][:, _FLIP] * torch.tensor([-1.0, 1.0]), "mask": out["mask"][:, _FLIP],
            "rel": out["rel"][:, _FLIP] * torch.tensor([-1.0, 1.0, 1.0]),
            "world": out["world"][:, _FLIP] * torch.tensor([-1.0, 1.0, 1.0]),
            "root": out["root"] * torch.tensor([-1.0, 1.0, 1.0]), "f": out["f"], "depth": out["depth"]}
    return {k: torch.cat([out[k], flip[k]]) for k in out}


def render_batch(s: dict[str, torch.Tensor], n: int, g: torch.Generator, world_dropout: float = 0.0
                 ) -> dict[str, torch.Tensor]:
    """``n`` random render samples in :func:`structpose.train.lifter.make_batch`'s format, plus ``world``
    (MediaPipe's world landmarks; set to NaN, i.e. "not given", with probability ``world_dropout``)."""
    idx = torch.randint(0, len(s["xy"]), (n,), generator=g)
    xy_n, mask, _c, radius = normalise_2d(s["xy"][idx], s["mask"][idx])
    scale = s["depth"][idx] * radius / s["f"][idx]
    rel = s["rel"][idx]
    world = s["world"][idx].clone()
    world[torch.rand(n, generator=g) < world_dropout] = float("nan")
    return {"xy": xy_n, "mask": mask, "gt_norm": rel / scale[:, None, None], "log_scale": scale.log(),
            "gt_m": rel, "valid": mask.sum(-1) >= 6, "world": world}


def finetune(model: Lifter, cfg: LifterTrainConfig, frames3d: torch.Tensor, samples: dict[str, torch.Tensor] | None,
             fraction: float, steps: int = 1500, lr: float = 2.5e-4, batch: int = 256, seed: int = 0,
             log: Callable[[str], None] = print, world_dropout: float = 0.0) -> Lifter:
    """Adam on the supervised 3D loss, each batch ``fraction`` render samples and the rest noise-model
    samples of ``frames3d`` (Y-up world clips' frames); cosine schedule to 0.1 ``lr``.  A ``world`` lifter
    gets the render samples' world landmarks (dropped with probability ``world_dropout``) and none for the
    noise-model samples, which have no detector 3D."""
    if not 0.0 <= fraction <= 1.0 or (fraction > 0 and samples is None):
        raise StructposeError(f"render fraction {fraction} needs samples and must be in [0, 1]")
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps, eta_min=lr * 0.1)
    n_r = round(batch * fraction)
    t0 = time.time()
    for step in range(steps):
        model.train()
        parts = []
        if n_r:
            parts.append(render_batch(samples, n_r, g, world_dropout))  # type: ignore[arg-type]
        if batch - n_r:
            syn = make_batch(frames3d, batch - n_r, cfg, g)
            syn["world"] = torch.full((batch - n_r, 17, 3), float("nan"))
            parts.append(syn)
        b = {k: torch.cat([p[k] for p in parts]) for k in ("xy", "mask", "gt_norm", "log_scale", "valid", "world")}
        pose, log_s = model(b["xy"], b["mask"], b["world"])
        loss = supervised_loss(pose, log_s, b)
        optimiser_step(model, opt, sched, loss)
        if step % 500 == 0 or step == steps - 1:
            log(f"step {step:5d} loss {loss.item():.4f} ({time.time() - t0:.0f}s)")
    return model.eval()


def lift_renders(model: Lifter, pairs: dict[str, np.ndarray], world: bool = True) -> np.ndarray:
    """The product's lifting path (``PoseLifter``, each sequence's true focal) on every render frame:
    (N, 17, 3) root-relative metres, NaN where MediaPipe found no one.  ``world``: give the lifter
    MediaPipe's world landmarks (read only by a ``world`` lifter)."""
    from ..pipeline.lifting import PoseLifter
    pl = PoseLifter(model)
    preds = np.full(pairs["joints_cam"].shape, np.nan)
    groups = np.stack([pairs["focal"][:, 0], pairs["image_size"][:, 0], pairs["image_size"][:, 1]], -1)
    for key in np.unique(groups, axis=0):
        idx = np.flatnonzero((groups == key).all(-1) & pairs["det_found"])
        if not len(idx):
            continue
        pl.focal_px = float(key[0])
        _, rel = pl(pairs["det_2d"][idx], pairs["det_scores"][idx], (int(key[1]), int(key[2])),
                    pairs["det_world"][idx] if world else None)
        preds[idx] = rel
    return preds


def score_renders(preds: np.ndarray, pairs: dict[str, np.ndarray], frames: np.ndarray) -> dict[str, float]:
    """MPJPE, PA-MPJPE (mm) and MPJVE (mm/frame, consecutive frames of one sequence) of root-relative
    ``preds`` against the rendered body's joints, on the boolean ``frames``."""
    from ..geometry import similarity_procrustes
    gt = pairs["joints_cam"].astype(np.float64)
    gt = gt - gt[:, PELVIS:PELVIS + 1]
    p = np.asarray(preds, np.float64)
    ok = frames & np.isfinite(p).all((1, 2))
    pa = similarity_procrustes(p[ok], gt[ok], warn=False).aligned
    nxt = ok[1:] & ok[:-1] & (pairs["sequence"][1:] == pairs["sequence"][:-1]) & (np.diff(pairs["seq_frame"]) == 1)
    if "chunk" in pairs:
        nxt &= pairs["chunk"][1:] == pairs["chunk"][:-1]
    dv = (p[1:] - p[:-1]) - (gt[1:] - gt[:-1])
    return {"frames": int(ok.sum()), "mpjpe": float(np.linalg.norm(p[ok] - gt[ok], axis=-1).mean() * 1000),
            "pa_mpjpe": float(np.linalg.norm(pa - gt[ok], axis=-1).mean() * 1000),
            "mpjve": float(np.linalg.norm(dv[nxt], axis=-1).mean() * 1000) if nxt.any() else float("nan")}


def evaluate_renders(model: Lifter, pairs: dict[str, np.ndarray], joints: tuple[int, ...] | None = None
                     ) -> dict[str, float]:
    """The product's lifting path (``PoseLifter``, true focal) on detected render frames: root-relative
    MPJPE / PA-MPJPE in mm against the rendered body's joints; MediaPipe's own world 3D beside it."""
    from ..geometry import similarity_procrustes
    from ..pipeline.lifting import PoseLifter
    keep = np.flatnonzero(pairs["det_found"])
    pl = PoseLifter(model)
    preds = np.full((len(keep), 17, 3), np.nan)
    for i, k in enumerate(keep):
        pl.focal_px = float(pairs["focal"][k, 0])
        _, rel = pl(pairs["det_2d"][k][None], pairs["det_scores"][k][None], tuple(int(v) for v in pairs["image_size"][k]))
        preds[i] = rel[0]
    gt = pairs["joints_cam"][keep].astype(np.float64)
    gt = gt - gt[:, PELVIS:PELVIS + 1]
    mp = pairs["det_world"][keep].astype(np.float64)
    mp = mp - mp[:, PELVIS:PELVIS + 1]
    ok = np.isfinite(preds).all((1, 2)) & np.isfinite(mp).all((1, 2))
    sel = list(joints) if joints is not None else list(range(17))
    out = {"frames": int(ok.sum())}
    for name, p in (("lifter", preds), ("mediapipe_world", mp)):
        p, t = p[ok][:, sel], gt[ok][:, sel]
        out[f"{name}_mpjpe_mm"] = float(np.linalg.norm(p - t, axis=-1).mean() * 1000)
        pa = similarity_procrustes(p, t, warn=False).aligned
        out[f"{name}_pa_mpjpe_mm"] = float(np.linalg.norm(pa - t, axis=-1).mean() * 1000)
    return out
