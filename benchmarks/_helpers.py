"""Helpers of the benchmarks (not shipped in the package): a still-photo video, the matmul peak, ONNX timing."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from structpose.errors import StructposeError
from structpose.models.sapnet_export import median_seconds, onnx_session


def matmul_peak_gflops(n: int = 1024, threads: int = 2) -> float:
    """The machine's practical float32 peak: median GFLOP/s of an ``n`` x ``n`` matmul (2 n^3 FLOPs)."""
    torch.set_num_threads(threads)      # a benchmark process: its own thread count
    a, b = torch.randn(n, n), torch.randn(n, n)
    return 2 * n ** 3 / median_seconds(lambda: a @ b, warmup=3, repeats=20) / 1e9


def time_onnx(path: str | Path, size: int, threads: int = 2, repeats: int = 30) -> float:
    """Median seconds per batch-1 image through onnxruntime with ``threads`` intra-op threads."""
    sess = onnx_session(path, threads)
    x = np.random.default_rng(0).random((1, 3, size, size), dtype=np.float32)
    return median_seconds(lambda: sess.run(None, {"image": x}), repeats=repeats)


def write_still_video(path: str | Path, photos: Sequence[str | Path], frames_per_photo: int,
                      size: tuple[int, int] = (640, 480), fps: float = 30.0, blank_frames: int = 0) -> Path:
    """Write a *still-photo video* (mp4v): each photo letterboxed into ``size`` = (width, height) pixels
    on black and held for ``frames_per_photo`` frames, in order, then ``blank_frames`` grey frames (no
    person).  Real photos with the motion of a cut: a reproducible input for benchmarks, tests and
    demos when no footage is at hand.  Written atomically; returns ``path``.
    """
    import cv2

    from structpose.io.atomic import atomic_path
    w, h = (int(v) for v in size)
    if isinstance(photos, (str, Path)):
        photos = [photos]
    if not photos:
        raise StructposeError("still video: no photo given; expected one or more image files")
    if w < 2 or h < 2 or w % 2 or h % 2:
        raise StructposeError(f"still video size {size}; expected an even width and height of at least 2 pixels "
                              "(mp4v rounds odd sizes down)")
    if int(frames_per_photo) != frames_per_photo or frames_per_photo < 1:
        raise StructposeError(f"still video: frames_per_photo={frames_per_photo}; expected a whole number >= 1")
    if int(blank_frames) != blank_frames or blank_frames < 0:
        raise StructposeError(f"still video: blank_frames={blank_frames}; expected a whole number >= 0")
    if not (np.isfinite(fps) and fps > 0):
        raise StructposeError(f"still video: fps={fps}; expected a positive frame rate")
    canvases = []
    for photo in photos:
        im = cv2.imread(str(photo))
        if im is None:
            raise StructposeError(f"{photo}: cannot read as an image (missing, or not png/jpg/bmp/...)")
        s = min(w / im.shape[1], h / im.shape[0])
        im = cv2.resize(im, (max(1, int(im.shape[1] * s)), max(1, int(im.shape[0] * s))))
        canvas = np.zeros((h, w, 3), np.uint8)
        y, x = (h - im.shape[0]) // 2, (w - im.shape[1]) // 2
        canvas[y:y + im.shape[0], x:x + im.shape[1]] = im
        canvases.append(canvas)
    path = Path(path)
    with atomic_path(path) as tmp:
        out = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), (w, h))
        if not out.isOpened():
            raise StructposeError(f"{path}: cannot write a video there (use an .mp4 name in a writable folder)")
        try:
            for canvas in canvases:
                for _ in range(int(frames_per_photo)):
                    out.write(canvas)
            grey = np.full((h, w, 3), 127, np.uint8)
            for _ in range(int(blank_frames)):
                out.write(grey)
        finally:
            out.release()
    return path
