"""Animation exports read back by real Blender, and what each export costs (``python -m benchmarks export``).

1. **Held-out real motion**: every DeepMimic test-split clip (``structpose.data.splits``), its world-frame
   mocap as ``poses_world`` (root motion included), exported as BVH (cm) and GLB; Blender 3.4 (Debian's,
   headless) imports each file and :func:`structpose.io.blender_check.blender_joints` reads every joint's
   world position per frame.  Error = distance to the pose file's joint, **no alignment of any kind**.
2. **Real videos** (Pose2Sim cam01, Sports2D demo, if in the data folder): ``structpose video``'s chain
   (bidirectional, fitted) then ``structpose.world.to_world``; the same round trip on the valid frames.
3. **Cost**: export time per frame (BVH, GLB, viewer page without video) and sizes, side by side.

The tables go into ``docs/exports.md``.
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np


def _roundtrip(seqs: dict[str, object], tmp: Path) -> list[tuple[str, str, int, float, float, float]]:
    from structpose.io.blender_check import blender_joints
    from structpose.io.export import export
    rows = []
    for name, seq in seqs.items():
        files = export(seq, tmp / f"{name.replace('/', '_')}.npz", ["bvh", "glb"])
        got = blender_joints(files, seq.num_frames, seq.fps)
        ok = np.asarray(seq.valid)
        ref = np.asarray(seq.poses_world, np.float64)[ok]
        root = ref[:, 0]
        travel = float(np.linalg.norm(root[:, [0, 2]] - root[0, [0, 2]], axis=-1).max())
        for f, g in zip(files, got):
            e = 1000 * np.linalg.norm(g[ok] - ref, axis=-1)
            rows.append((name, f.suffix[1:].upper(), int(ok.sum()), travel, float(e.mean()), float(e.max())))
    return rows


def _real_videos() -> dict[str, object]:
    from structpose.pipeline.video import process_video
    from structpose.world import to_world
    data = Path(os.environ.get("STRUCTPOSE_DATA", Path.home() / ".cache" / "structpose")) / "real"
    out = {}
    videos = (("pose2sim cam01", data / "pose2sim" / "cam01.mp4"), ("sports2d demo", data / "sports2d" / "demo.mp4"))
    for name, path in videos:
        if not path.is_file():
            print(f"  {path} not found: skipped (DATA.md says where it comes from)")
            continue
        seq, _ = process_video(str(path), mode="bidirectional", progress=False)
        w = to_world(seq.poses_3d, seq.fps)
        seq.poses_world, seq.contacts, seq.floor, seq.world_from_camera = (w.poses_world, w.contacts, w.floor,
                                                                           w.world_from_camera)
        seq.meta["world"] = w.meta
        print(f"  {name}: {seq.num_frames} frames, {int(seq.valid.sum())} with a person, world: {w.status}")
        out[name] = seq
    return out


def main() -> None:
    import torch
    torch.set_num_threads(1)
    from structpose.data import deepmimic
    from structpose.data.splits import split_of
    from structpose.io.bvh_export import write_bvh_sequence
    from structpose.io.gltf_export import write_glb
    from structpose.io.posefile import PoseSequence
    from structpose.viewer import render_page

    clips = [c for c in deepmimic.load_all() if split_of(c.name) == "test"]
    seqs = {c.name: PoseSequence(poses_3d=c.in_camera(), fps=c.fps, poses_world=c.world) for c in clips}
    with tempfile.TemporaryDirectory() as tmp:
        rows = _roundtrip(seqs, Path(tmp))
        real = _real_videos()
        rows += _roundtrip(real, Path(tmp))
        print("\n| sequence | file | frames | root travel m | Blender vs pose file: mean mm | max mm |")
        print("|---|---|---|---|---|---|")
        for name, kind, n, travel, mean, mx in rows:
            print(f"| {name} | {kind} | {n} | {travel:.2f} | {mean:.4f} | {mx:.4f} |")

        print("\n| export | ms per frame | file size | (sequences) |")
        print("|---|---|---|---|")
        all_seqs = {**seqs, **real}

        def bvh(s, p):
            write_bvh_sequence(p.with_suffix(".bvh"), s)
            return p.with_suffix(".bvh")

        def glb(s, p):
            write_glb(p.with_suffix(".glb"), s)
            return p.with_suffix(".glb")

        def page(s, p):
            p.with_suffix(".html").write_text(render_page(s))
            return p.with_suffix(".html")
        for label, fn in (("BVH (cm)", bvh), ("GLB", glb), ("viewer page, no video", page)):
            fn(next(iter(all_seqs.values())), Path(tmp) / "warmup")          # imports out of the timing
            ms, size, frames = 0.0, 0, 0
            for name, s in all_seqs.items():
                t0 = time.perf_counter()
                out = fn(s, Path(tmp) / f"cost_{name.replace('/', '_').replace(' ', '_')}")
                ms += 1000 * (time.perf_counter() - t0)
                size += out.stat().st_size
                frames += s.num_frames
            print(f"| {label} | {ms / frames:.3f} | {size / 1e3 / len(all_seqs):.0f} kB per sequence, "
                  f"{size / frames:.0f} B per frame | all {len(all_seqs)} above, {frames} frames |")
