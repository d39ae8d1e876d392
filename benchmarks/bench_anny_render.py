"""Anny renderer: how far retargeting moves the joints, and how fast each stage runs (2 threads max).

1. Retargeting of real mocap frames (DeepMimic + holosoma, all splits) onto random Anny shapes: distance
   between each mocap joint and the posed body's own H36M-17 joint, with the pelvis on the pelvis and after
   a per-frame similarity alignment; bone direction differences.
2. Speed, side by side in one run: retarget + Anny forward per sample (batch 64), texture painting, and
   renders/s at 640x480 and 256x256 from the texture bank against a freshly painted texture each time.
"""
from __future__ import annotations

import time

import numpy as np
import torch

from structpose.cameras import sample_virtual_camera
from structpose.data.sources import load_clips
from structpose.geometry import similarity_procrustes
from structpose.render.anny_body import load_body, retarget, sample_shapes
from structpose.render.anny_render import AnnyRenderer
from structpose.render.anny_textures import load_photos, mesh_layout, paint_texture, random_background
from structpose.skeleton import H36M17


def main() -> None:
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    body = load_body()
    print(f"Anny model load: {time.perf_counter() - t0:.1f} s (cache in the data folder)")
    clips = load_clips(("deepmimic", "holosoma"))
    src = np.stack([c.world[rng.integers(c.num_frames)] for c in clips for _ in range(max(1, 512 // len(clips)))])
    shapes = sample_shapes(rng, len(src))
    t0 = time.perf_counter()
    posed = [retarget(body, src[i:i + 64], shapes[i:i + 64]) for i in range(0, len(src), 64)]
    ms = 1000 * (time.perf_counter() - t0) / len(src)
    joints = np.concatenate([p.joints for p in posed]).astype(np.float64)
    d0 = np.linalg.norm(joints - src, axis=-1)
    al = similarity_procrustes(src, joints).aligned          # the mocap moved onto the body, per frame
    print(f"\n{len(src)} mocap frames, random adult shapes; retarget + Anny forward {ms:.1f} ms/sample (batch 64)")
    print("| joint | pelvis on pelvis (cm) | after similarity alignment (cm) |")
    print("|---|---|---|")
    d1 = np.linalg.norm(al - joints, axis=-1)
    for j, name in enumerate(H36M17.names):
        print(f"| {name} | {100 * d0[:, j].mean():.1f} | {100 * d1[:, j].mean():.1f} |")
    print(f"| **mean** | **{100 * d0.mean():.1f}** | **{100 * d1.mean():.1f}** |")
    print("\n| bone | direction difference, mean (deg) | 95th pct |")
    print("|---|---|---|")
    for p, c in H36M17.bones:
        u, v = src[:, c] - src[:, p], joints[:, c] - joints[:, p]
        cos = np.sum(u * v, -1) / np.linalg.norm(u, axis=-1) / np.linalg.norm(v, axis=-1)
        ang = np.degrees(np.arccos(np.clip(cos, -1, 1)))
        print(f"| {H36M17.names[p]} -> {H36M17.names[c]} | {ang.mean():.1f} | {np.percentile(ang, 95):.1f} |")

    layout = mesh_layout(body)
    photos = load_photos()
    t0 = time.perf_counter()
    bank = [paint_texture(layout, rng, photos) for _ in range(8)]
    paint_ms = 1000 * (time.perf_counter() - t0) / 8
    print(f"\npainting one 512x512 texture: {paint_ms:.0f} ms")
    verts = posed[0].vertices
    for size in ((640, 480), (256, 256)):
        r = AnnyRenderer(body, layout, bank)
        cams = [sample_virtual_camera(rng, verts[i][::20], image_sizes=(size,), distance=(2.5, 5)) for i in range(8)]
        bgs = [random_background(photos, size, rng) for _ in range(8)]
        r.render(verts[0], cams[0], 0, bgs[0])
        n = 40
        t0 = time.perf_counter()
        for i in range(n):
            r.render(verts[i % 8], cams[i % 8], i % 8, bgs[i % 8])
        bank_rate = n / (time.perf_counter() - t0)
        n2 = 12                      # the same renderer, a freshly painted texture uploaded for each render
        t0 = time.perf_counter()
        for i in range(n2):
            tex = paint_texture(layout, rng, photos)
            pr = r.pyrender
            r.materials.append(pr.MetallicRoughnessMaterial(
                baseColorTexture=pr.Texture(source=np.ascontiguousarray(tex[::-1]), source_channels="RGB"),
                metallicFactor=0.0, roughnessFactor=0.85))
            r.render(verts[i % 8], cams[i % 8], len(r.materials) - 1, bgs[i % 8])
        fresh_rate = n2 / (time.perf_counter() - t0)
        r.close()
        print(f"{size[0]}x{size[1]}: {bank_rate:.1f} renders/s from the bank, {fresh_rate:.1f}/s with a fresh "
              f"texture each (ratio {bank_rate / fresh_rate:.1f}x)")


if __name__ == "__main__":
    main()
