"""Data layer speed: BVH parsing vs the PyPI ``bvh`` package, and dataset items per second.

Run: ``python -m benchmarks data``.  One process, one thread, measured side by side.
"""
from __future__ import annotations

import json
import time

import numpy as np
import torch


def _best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def _bvh_text(frames_needed: int = 2000) -> str:
    # a real clip (DeepMimic walk) written as a CMU-like BVH, repeated to a long take
    from structpose.data import deepmimic
    from structpose.data.bvh import BvhData, dumps_bvh, parse_bvh
    path = next(p for p in deepmimic.clip_paths() if p.stem.endswith("_walk"))
    frames = np.asarray(json.loads(path.read_text())["Frames"], float)
    frames = np.concatenate([frames] * (frames_needed // len(frames) + 1))[:frames_needed]
    # minimal rig: root with 6 channels + 3-channel chain, enough to time the motion table
    names = ["Hips", "Spine", "Neck", "Head"] + [f"{s}{p}" for s in ("Left", "Right")
                                                 for p in ("UpLeg", "Leg", "Foot", "Arm", "ForeArm", "Hand")]
    parents = [-1, 0, 1, 2] + [0, 4, 5, 1, 7, 8] + [0, 10, 11, 1, 13, 14]
    offsets = np.random.default_rng(0).normal(size=(len(names), 3)) * 10
    chans = [("Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation")] + \
        [("Zrotation", "Xrotation", "Yrotation")] * (len(names) - 1)
    motion = np.random.default_rng(1).uniform(-90, 90, size=(frames_needed, 3 + 3 * len(names)))
    motion[:, :3] = frames[:, 1:4] * 100
    d = BvhData(names, parents, offsets, chans, [False] * len(names), motion, 1 / 30)
    text = dumps_bvh(d, precision=4)
    parse_bvh(text)
    return text


def main() -> None:
    torch.set_num_threads(1)
    import bvh as pypi_bvh

    from structpose.data.bvh import bvh_forward_kinematics, parse_bvh
    from structpose.data.datasets import Pairs2D3DDataset, PoseWindowDataset
    from structpose.data.sources import load_clips

    text = _bvh_text()
    t_ours = _best(lambda: parse_bvh(text))
    d = parse_bvh(text)

    def theirs():
        b = pypi_bvh.Bvh(text)
        return np.array(b.frames, dtype=float)            # the same (T, C) table ours returns

    t_theirs = _best(theirs)
    t_fk = _best(lambda: bvh_forward_kinematics(d))
    print(f"BVH, {d.num_frames} frames x {d.motion.shape[1]} channels ({len(text) / 1e6:.1f} MB)")
    print(f"{'step':<34}{'structpose':>12}{'PyPI bvh 0.3':>14}{'ratio':>8}")
    print(f"{'parse to (T, C) array':<34}{t_ours * 1e3:>10.0f}ms{t_theirs * 1e3:>12.0f}ms"
          f"{t_theirs / t_ours:>7.1f}x")
    print(f"{'forward kinematics (T, J, 3)':<34}{t_fk * 1e3:>10.0f}ms{'(none)':>14}{'':>8}")

    t0 = time.perf_counter()
    clips = load_clips()
    t_cold = time.perf_counter() - t0
    t_warm = _best(lambda: load_clips())
    print(f"\nload_clips (deepmimic + holosoma, {sum(c.num_frames for c in clips)} frames): "
          f"first call {t_cold * 1e3:.0f} ms, cached {t_warm * 1e3:.2f} ms")

    train = [c for c in clips if c.source == "deepmimic"]
    n = 2000
    win = PoseWindowDataset(train, window=20, seed=0)
    pairs = Pairs2D3DDataset(train, seed=0)
    fixed = Pairs2D3DDataset(train, cameras_per_clip=4, seed=0)
    print(f"\n{'dataset (1 thread)':<38}{'per item':>10}{'batch(256)':>12}{'DataLoader':>12}{'batch/item':>12}")
    print(f"{'':<38}{'items/s':>10}{'items/s':>12}{'items/s':>12}")
    for name, ds in (("PoseWindowDataset (20 frames)", win), ("Pairs2D3DDataset (new camera/item)", pairs),
                     ("Pairs2D3DDataset (4 fixed cams/clip)", fixed)):
        idx = np.random.default_rng(0).integers(0, len(ds), n)
        per_item = n / _best(lambda ds=ds, idx=idx: [ds[int(i)] for i in idx], repeat=2)
        batched = n / _best(lambda ds=ds, idx=idx: [ds.batch(idx[k:k + 256]) for k in range(0, n, 256)], repeat=2)
        loader = torch.utils.data.DataLoader(ds, batch_size=256, shuffle=True)

        def through_loader(loader=loader) -> None:
            for k, _ in enumerate(loader):
                if k == n // 256 - 1:
                    break

        via_loader = (n // 256) * 256 / _best(through_loader, repeat=2)
        print(f"{name:<38}{per_item:>10.0f}{batched:>12.0f}{via_loader:>12.0f}{batched / per_item:>11.1f}x")


if __name__ == "__main__":
    main()
