"""Exports of a :class:`PoseSequence`: pose file, VideoPose3D-style npz, JSON, CSV, BVH, GLB.  All atomic.

Missing data is never written as zeros: frames without a person and unseen joints are ``null`` in
JSON, empty cells in CSV, a score of 0 in the VideoPose3D npz (whose readers cannot take NaN, so
xy there holds the joint's nearest seen position), and the nearest valid pose in BVH and GLB (an
animation frame cannot be empty; ``valid`` is in every other format).  BVH and GLB carry root motion
in the world frame when the pose file has ``poses_world``, else in the camera frame turned Y up.
"""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import StructposeError
from ..skeleton import H36M17
from .atomic import atomic_path
from .posefile import PoseSequence, save_pose_file

FORMATS = ("npz", "vp3d", "json", "csv", "bvh", "glb")
SUFFIX = {"npz": ".npz", "vp3d": ".vp3d.npz", "json": ".json", "csv": ".csv", "bvh": ".bvh", "glb": ".glb"}


def parse_formats(text: str) -> list[str]:
    """``"json,csv,bvh"`` -> ``["json", "csv", "bvh"]``; an unknown name is one clear line."""
    out = [t.strip().lower() for t in text.split(",") if t.strip()]
    bad = [t for t in out if t not in FORMATS]
    if bad or not out:
        raise StructposeError(f"unknown export format {', '.join(bad) or repr(text)}; choose from {', '.join(FORMATS)}")
    return list(dict.fromkeys(out))


def _fill_nearest(x: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Fill rows of ``x`` (T, ...) where ``ok`` (T,) is False with the nearest ok row (0 if none)."""
    if not ok.any():
        return np.zeros_like(x)
    idx = np.arange(len(x))
    good = idx[ok]
    pos = np.clip(np.searchsorted(good, idx), 0, len(good) - 1)
    prev = good[np.maximum(pos - 1, 0)]
    nxt = good[pos]
    near = np.where(np.abs(prev - idx) < np.abs(nxt - idx), prev, nxt)
    return x[near]


def write_vp3d(path: str | Path, seq: PoseSequence, name: str = "video") -> tuple[Path, Path]:
    """VideoPose3D files: the 2D input of its custom-video path, and the 3D in its ``data_3d`` layout.

    ``path`` (e.g. ``run.vp3d.npz``): ``positions_2d[name]['custom'] = [(T, 17, 3) x, y, score]``
    pixels, H36M joint order, ``metadata = {layout_name: 'h36m', num_joints: 17, keypoints_symmetry,
    video_metadata: {name: {w, h}}}`` — what ``prepare_data_2d_custom.py`` writes.  Beside it,
    ``run.vp3d_3d.npz``: ``positions_3d = {'structpose': {name: (T, 17, 3)}}`` metres in a **Z-up**
    frame like Human3.6M's world (camera frame turned: ``(x, z, -y)``), the 17 H36M joints (not
    32).  VideoPose3D readers take no NaN: frames without a pose hold the nearest valid pose (2D:
    each joint its nearest seen position, score 0).  Read with ``np.load(path, allow_pickle=True)``.
    """
    T = seq.num_frames
    path = Path(path)
    path3 = path.with_name(path.name.replace(".vp3d.npz", "") + ".vp3d_3d.npz") if path.name.endswith(
        ".vp3d.npz") else path.with_name(path.stem + "_3d.npz")
    if seq.poses_2d is not None:
        xy = np.asarray(seq.poses_2d, np.float32).copy()
        sc = (np.asarray(seq.scores, np.float32) if seq.scores is not None
              else np.isfinite(xy).all(-1).astype(np.float32)).copy()
        sc[~np.isfinite(xy).all(-1)] = 0.0
        for j in range(17):
            xy[:, j] = _fill_nearest(xy[:, j], sc[:, j] > 0)
    else:
        xy, sc = np.zeros((T, 17, 2), np.float32), np.zeros((T, 17), np.float32)
    left = [a for a, _ in H36M17.left_right]
    right = [b for _, b in H36M17.left_right]
    # "fps" (2D metadata, 3D member) is ours: VideoPose3D ignores it, and our readers use it so a
    # round trip keeps the frame rate (the format itself has none; H36M's 50 Hz was assumed)
    meta = {"layout_name": "h36m", "num_joints": 17, "keypoints_symmetry": [left, right], "fps": float(seq.fps)}
    if seq.image_size is not None:
        meta["video_metadata"] = {name: {"w": int(seq.image_size[0]), "h": int(seq.image_size[1])}}
    arrays = {
        "positions_2d": np.array({name: {"custom": [np.concatenate([xy, sc[..., None]], -1)]}}, dtype=object),
        "metadata": np.array(meta, dtype=object),
    }
    ok = np.asarray(seq.valid, bool) & np.isfinite(seq.poses_3d).all((1, 2))
    if not ok.any():
        raise StructposeError("no valid frame to export in VideoPose3D format (it cannot hold missing poses)")
    p3 = _fill_nearest(np.asarray(seq.poses_3d, np.float32), ok)[..., [0, 2, 1]] * np.array([1, 1, -1], np.float32)
    with atomic_path(path) as tmp, atomic_path(path3) as tmp3:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
        with open(tmp3, "wb") as fh:
            np.savez(fh, positions_3d=np.array({"structpose": {name: p3}}, dtype=object), fps=np.array(float(seq.fps)))
    return path, path3


def _num(v: float) -> float | None:
    return round(float(v), 6) if np.isfinite(v) else None


def write_json(path: str | Path, seq: PoseSequence) -> Path:
    """``{fps, layout, joints, units, frame, frames: [{index, time, valid, joints_3d, keypoints_2d, scores}]}``.

    ``joints_3d`` is a list of 17 ``[x, y, z]`` (metres, camera frame) or ``null`` for a frame
    without a pose; unseen 2D joints are ``null``.
    """
    frames = []
    for t in range(seq.num_frames):
        p = seq.poses_3d[t]
        f: dict = {"index": t, "time": round(t / seq.fps, 6), "valid": bool(seq.valid[t])}
        f["joints_3d"] = [[_num(v) for v in row] for row in p] if seq.valid[t] else None
        if seq.poses_2d is not None:
            f["keypoints_2d"] = [None if not np.isfinite(r).all() else [_num(r[0]), _num(r[1])]
                                 for r in seq.poses_2d[t]]
        if seq.scores is not None:
            f["scores"] = [_num(s) for s in seq.scores[t]]
        frames.append(f)
    doc = {"format": "structpose-json-1", "fps": float(seq.fps), "layout": seq.layout,
           "joints": list(H36M17.names), "parents": list(H36M17.parents),
           "units": "metres", "frame": "camera: x right, y down, z forward",
           "image_size": list(seq.image_size) if seq.image_size is not None else None,
           "meta": seq.meta, "frames": frames}
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(doc, allow_nan=False))
    return Path(path)


def write_csv(path: str | Path, seq: PoseSequence) -> Path:
    """One row per frame: ``frame, time, valid, <joint>_x/_y/_z`` (metres), then ``<joint>_u/_v/_score``
    if 2D is present.  Missing values are empty cells."""
    head = ["frame", "time", "valid"] + [f"{n}_{a}" for n in H36M17.names for a in "xyz"]
    has2d = seq.poses_2d is not None
    if has2d:
        head += [f"{n}_{a}" for n in H36M17.names for a in ("u", "v", "score")]
    cell = lambda v: "" if not np.isfinite(v) else f"{float(v):.6f}"
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(head)
        for t in range(seq.num_frames):
            row = [t, f"{t / seq.fps:.6f}", int(bool(seq.valid[t]))]
            row += [cell(v) for v in seq.poses_3d[t].reshape(-1)]
            if has2d:
                sc = seq.scores[t] if seq.scores is not None else np.ones(17)
                for j in range(17):
                    row += [cell(seq.poses_2d[t, j, 0]), cell(seq.poses_2d[t, j, 1]), cell(sc[j])]
            w.writerow(row)
    return Path(path)


def export_paths(out_base: str | Path, formats: list[str]) -> dict[str, Path]:
    """The files :func:`export` writes for ``formats`` beside ``out_base`` (for the output guard)."""
    base = Path(out_base)
    stem = base.name.removesuffix(".npz")
    out = {}
    for fmt in formats:
        out[f"--export {fmt}"] = base.with_name(stem + SUFFIX[fmt])
        if fmt == "vp3d":
            out["--export vp3d (3D)"] = base.with_name(stem + ".vp3d_3d.npz")
    return out


def export(seq: PoseSequence, out_base: str | Path, formats: list[str], name: str = "video") -> list[Path]:
    """Write ``seq`` in each of ``formats`` next to ``out_base`` (suffixes from :data:`SUFFIX`)."""
    base = Path(out_base)
    stem = base.name.removesuffix(".npz")
    out = []
    any_pose = bool((np.asarray(seq.valid, bool) & np.isfinite(seq.poses_3d).all((1, 2))).any())
    for fmt in formats:
        p = base.with_name(stem + SUFFIX[fmt])
        if fmt in ("bvh", "glb", "vp3d") and not any_pose:
            # these formats cannot hold a missing pose; failing here would leave the caller's other
            # outputs written under an error exit, so say plainly that this one was not written
            print(f"warning: {p} not written: no frame holds a pose ({fmt} cannot hold missing poses)",
                  file=sys.stderr)
            continue
        if fmt == "npz":
            out.append(save_pose_file(p, seq))
        elif fmt == "vp3d":
            out.extend(write_vp3d(p, seq, name))
        elif fmt == "json":
            out.append(write_json(p, seq))
        elif fmt == "csv":
            out.append(write_csv(p, seq))
        elif fmt == "bvh":
            from .bvh_export import write_bvh_sequence  # scipy: imported only when a BVH is asked for
            write_bvh_sequence(p, seq)
            out.append(p)
        elif fmt == "glb":
            from .gltf_export import write_glb  # pygltflib: imported only when a GLB is asked for
            write_glb(p, seq)
            out.append(p)
    return out


def __getattr__(name: str) -> Any:
    if name == "write_bvh":                      # re-exported lazily (scipy)
        from .bvh_export import write_bvh
        return write_bvh
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["FORMATS", "export", "parse_formats", "write_bvh",  # noqa: F822  (module __getattr__)
           "write_csv", "write_json", "write_vp3d"]
