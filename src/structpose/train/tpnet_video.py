"""TP-Net pairs from render VIDEOS: the shipped lifter's outputs on MediaPipe's tracked 2D, against true 3D.

The chunks of :mod:`structpose.train.render_chunks` hold 32-frame sequences of Anny bodies posed by real
motion, with MediaPipe run in video (tracking) mode.  :func:`lifter_runs` lifts every detected frame through
the product's path (:func:`structpose.train.lifter_renders.lift_renders`: ``PoseLifter``, the sequence's
true focal) with the shipped default lifter and cuts each sequence into runs of consecutive frames that
have a pose; :func:`write_split_pairs` writes one split's runs as the pairs npz that
``structpose train tpnet`` reads (``pairs:`` / ``pairs_val:``).  Inputs and targets are root-relative,
in the camera frame, at 30 fps.  The split is the chunk's own (by whole clip / subject / style).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.error_family import write_pairs
from ..errors import StructposeError
from .render_pairs import load_pairs as load_renders


def lifter_runs(renders: dict[str, np.ndarray], preds: np.ndarray, min_len: int = 2, fps: float = 30.0,
                tag: str = "") -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(name, truth, prediction)`` root-relative float32 ``(T, 17, 3)`` runs of consecutive video-mode
    frames (one sequence, ``seq_frame`` + 1 each step) where ``preds`` is finite; runs shorter than
    ``min_len`` and sequences not at ``fps`` are left out."""
    if preds.shape != renders["joints_cam"].shape:
        raise StructposeError(f"predictions {preds.shape} and render joints {renders['joints_cam'].shape} differ")
    ok = np.isfinite(preds).all((1, 2)) & renders["video"].astype(bool)
    gt_all = renders["joints_cam"].astype(np.float64)
    out = []
    for s in np.unique(renders["sequence"]):
        idx = np.flatnonzero(renders["sequence"] == s)
        idx = idx[np.argsort(renders["seq_frame"][idx], kind="stable")]
        if abs(float(renders["fps"][idx[0]]) - fps) > 1e-3:
            continue
        run: list[int] = []
        for i in [*idx, -1]:
            if i >= 0 and ok[i] and (not run or renders["seq_frame"][i] == renders["seq_frame"][run[-1]] + 1):
                run.append(i)
                continue
            if len(run) >= min_len:
                gt, p = gt_all[run], preds[run].astype(np.float64)
                out.append((f"{tag}{renders['clip'][run[0]]}#{s}@{renders['seq_frame'][run[0]]}",
                            (gt - gt[:, :1]).astype(np.float32), (p - p[:, :1]).astype(np.float32)))
            run = [i] if i >= 0 and ok[i] else []
    return out


def split_runs(chunks_dir: str | Path, split: str, lifter=None, min_len: int = 2
               ) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Every run of :func:`lifter_runs` in the ``{split}_*.npz`` chunks of ``chunks_dir`` (default lifter:
    the shipped one)."""
    from ..models.lifter import load_lifter
    from .lifter_renders import lift_renders
    files = sorted(Path(chunks_dir).expanduser().glob(f"{split}_*.npz"))
    if not files:
        raise StructposeError(f"no {split}_*.npz render chunks in {chunks_dir}; make them with "
                              "`structpose data renders --chunks DIR`")
    lifter = lifter if lifter is not None else load_lifter()
    out = []
    for f in files:
        r = load_renders(f)
        out += lifter_runs(r, lift_renders(lifter, r), min_len=min_len, tag=f"{f.stem}:")
    return out


def write_split_pairs(chunks_dir: str | Path, out_dir: str | Path, lifter=None,
                      splits: tuple[str, ...] = ("train", "val", "test")) -> dict[str, Path]:
    """``{split: out_dir/lifter_video_pairs_{split}.npz}`` written from the chunks."""
    return {sp: write_pairs(split_runs(chunks_dir, sp, lifter), Path(out_dir) / f"lifter_video_pairs_{sp}.npz")
            for sp in splits}
