"""Dataset-format readers: the safe readers against the usual unsafe ones, side by side.

* MPI-INF-3DHP ``annot.mat`` (14 cameras x 2000 frames, ~50 MB): structpose's pure-Python MAT v5
  reader vs ``scipy.io.loadmat`` (which can segfault on corrupt files), uncompressed and compressed.
* VideoPose3D ``data_3d_h36m.npz`` (5 subjects x 15 actions x 1000 frames x 32 joints): the
  restricted unpickler vs ``np.load(allow_pickle=True)`` (which runs any code in the pickle).
* NaN-aware layout mapping (COCO-17 -> H36M-17, 200,000 frames) vs the plain matrix product of
  ``skeleton.convert`` (which lets one missing joint poison every joint it touches).
* OpenPose folder (2000 per-frame JSON files) -> Keypoints2D, frames per second.
"""
from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.io

from structpose.data.formats import load_keypoints_2d, load_motion_3d
from structpose.data.formats._common import read_npz
from structpose.data.formats._matv5 import loadmat
from structpose.data.keypoints import map_to_h36m
from structpose.skeleton import COCO17, H36M17, conversion_matrix, convert

N_MAP = 200_000


def _best(fn, repeat: int = 3) -> float:
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _mat(d: Path, compress: bool) -> Path:
    rng = np.random.default_rng(0)
    F = 2000

    def cells(k):
        c = np.empty((14, 1), object)
        for i in range(14):
            c[i, 0] = rng.normal(size=(F, 28 * k)) * 1000
        return c
    p = d / ("annot_z.mat" if compress else "annot.mat")
    scipy.io.savemat(str(p), {"annot2": cells(2), "annot3": cells(3), "univ_annot3": cells(3),
                              "cameras": np.arange(14)[None].astype(float)}, do_compression=compress)
    return p


def _vp3d(d: Path) -> Path:
    rng = np.random.default_rng(1)
    data = {f"S{s}": {f"Action {a}": rng.normal(size=(1000, 32, 3)).astype(np.float32) for a in range(15)}
            for s in (1, 5, 6, 7, 8)}
    p = d / "data_3d_h36m.npz"
    np.savez_compressed(p, positions_3d=data)
    return p


def _openpose(d: Path, n: int) -> Path:
    rng = np.random.default_rng(2)
    folder = d / "op"
    folder.mkdir()
    for t in range(n):
        k = np.abs(rng.normal(size=(25, 3))) * [500, 500, 0.3]
        (folder / f"v_{t:012d}_keypoints.json").write_text(json.dumps(
            {"version": 1.3, "people": [{"person_id": [-1], "pose_keypoints_2d": k.reshape(-1).tolist()}]}))
    return folder


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        for compress in (False, True):
            p = _mat(d, compress)
            mb = p.stat().st_size / 1e6
            t_ref = _best(lambda p=p: scipy.io.loadmat(str(p)))
            t_ours = _best(lambda p=p: loadmat(p))
            rows.append((f"3DHP annot.mat {'v7 zlib' if compress else 'v5 plain'} ({mb:.0f} MB)",
                         "scipy.io.loadmat", t_ref, "structpose _matv5", t_ours))
        p = _vp3d(d)
        t_ref = _best(lambda: np.load(p, allow_pickle=True)["positions_3d"].item())
        t_ours = _best(lambda: read_npz(p))
        rows.append((f"VP3D data_3d npz ({p.stat().st_size / 1e6:.0f} MB)", "np.load(allow_pickle)", t_ref,
                     "restricted unpickler", t_ours))
        t_full = _best(lambda: load_motion_3d(p), repeat=1)
        xy = np.random.default_rng(3).uniform(0, 1000, (N_MAP, 17, 2))
        sc = np.ones((N_MAP, 17))
        w = conversion_matrix(COCO17.name, H36M17.name)
        t_ref = _best(lambda: convert(xy, COCO17.name, H36M17.name), repeat=2)
        t_ours = _best(lambda: map_to_h36m(xy, sc, w), repeat=2)
        rows.append((f"COCO-17 -> H36M-17, {N_MAP:,} frames", "skeleton.convert", t_ref, "map_to_h36m (NaN-aware)", t_ours))
        n_op = 2000
        folder = _openpose(d, n_op)
        t_op = _best(lambda: load_keypoints_2d(folder), repeat=1)
    print(f"{'input':<36s} {'reference':<22s} {'ref s':>7s} {'structpose':<24s} {'ours s':>7s} {'ours/ref':>9s}")
    for what, ref, t_ref, ours, t_ours in rows:
        print(f"{what:<36s} {ref:<22s} {t_ref:>7.3f} {ours:<24s} {t_ours:>7.3f} {t_ours / t_ref:>8.2f}x")
    print(f"load_motion_3d on the VP3D file (75 sequences, 75,000 frames, 32->17, checks): {t_full:.2f} s")
    print(f"OpenPose folder, {n_op} frames -> Keypoints2D: {t_op:.2f} s ({n_op / t_op:,.0f} frames/s)")


if __name__ == "__main__":
    main()
