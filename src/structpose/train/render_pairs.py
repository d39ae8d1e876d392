"""The real detector's errors as data: MediaPipe run on Anny renders of real motion.

Each rendered frame gives (MediaPipe 2D, MediaPipe world 3D, true 2D / 3D of the rendered body).  Stills
run MediaPipe in static mode; sequences (consecutive frames of one clip, ~30 fps) run it in video mode,
whose landmark tracking and smoothing behave differently.

File format (``.npz``, no pickles; N frames):

=================  =========================  ===============================================================
key                shape / dtype              meaning
=================  =========================  ===============================================================
det_2d             (N, 17, 2) float32         MediaPipe's H36M-17 pixels (NaN where no person was found)
det_scores         (N, 17) float32            its visibilities (0 where not found)
det_world          (N, 17, 3) float32         its world landmarks as H36M-17, metres, hip-centred, camera axes
det_found          (N,) bool                  a person was found
uv                 (N, 17, 2) float32         true pixels of the rendered body's joints
joints_cam         (N, 17, 3) float32         true joints, camera frame (x right, y down, z forward), metres
joints_world       (N, 17, 3) float32         the same in the clip's Y-up world frame
source_world       (N, 17, 3) float32         the mocap joints the body was posed from (Y-up world)
in_image           (N, 17) bool               joint projects inside the image
unoccluded         (N, 17) bool               ... and no surface lies > 10 cm in front of it
focal, centre      (N, 2) float32             camera intrinsics, pixels
image_size         (N, 2) int32               (width, height)
cam_R, cam_t       (N, 3, 3), (N, 3) float32  world -> camera: X_cam = R X_world + t
shape              (N, 6) float32             Anny phenotype (gender, age, muscle, weight, height, proportions)
sequence           (N,) int32                 sequence id (frames of one sequence share body, camera, scene)
seq_frame          (N,) int32                 index within the sequence
clip_frame         (N,) int32                 frame index in the source clip
clip               (N,) str                   source clip name
fps                (N,) float32               frame rate of the sequence
video              (N,) bool                  MediaPipe ran in video (tracking) mode
meta               () str                     JSON: versions, seed, split, config, timing
=================  =========================  ===============================================================
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import cv2
import numpy as np

from ..data.sources import load_clips
from ..data.splits import split_clips
from ..errors import StructposeError
from ..io.atomic import atomic_path
from ..skeleton import convert

KEYS = ("det_2d", "det_scores", "det_world", "det_found", "uv", "joints_cam", "joints_world", "source_world",
        "in_image", "unoccluded", "focal", "centre", "image_size", "cam_R", "cam_t", "shape", "sequence",
        "seq_frame", "clip_frame", "clip", "fps", "video")


def generate(out: str | Path, frames: int, video_length: int = 1, split: str = "train", seed: int = 0,
             sources: tuple[str, ...] = ("deepmimic", "holosoma"), image_size: tuple[int, int] = (640, 480),
             images_dir: str | Path | None = None, images_count: int = 0, video_fps: float = 30.0,
             progress: Callable[[str], None] | None = None, scene=None) -> dict:
    """Render about ``frames`` frames (sequences of ``video_length``; 1 = stills) of the ``split`` clips, run
    MediaPipe on each, write the npz ``out`` (format in the module doc); optionally the first
    ``images_count`` images as PNGs in ``images_dir``; ``scene`` a ``SceneConfig`` (its ``image_size`` is
    replaced by ``image_size``).  Returns the meta dict."""
    from ..pipeline.detector import PoseDetector
    from ..render.anny_scene import AnnyScenes, SceneConfig
    if frames < 1 or video_length < 1:
        raise StructposeError(f"--frames ({frames}) and --video-length ({video_length}) must be >= 1")
    if split not in ("train", "val", "test"):
        raise StructposeError(f"split {split!r} is not one of train, val, test")
    clips = split_clips(load_clips(sources)).get(split, [])
    if not clips:
        raise StructposeError(f"no {split} clips in sources {', '.join(sources)}")
    t0 = time.perf_counter()
    from dataclasses import replace
    scenes = AnnyScenes(replace(scene or SceneConfig(), image_size=tuple(image_size)), seed=seed)
    t_setup = time.perf_counter() - t0
    rng = np.random.default_rng([seed, 1])
    n_seq = -(-frames // video_length)
    cols: dict[str, list] = {k: [] for k in KEYS}
    t_render = t_detect = 0.0
    static = PoseDetector(video=False) if video_length == 1 else None
    if images_dir is not None and images_count > 0:
        Path(images_dir).mkdir(parents=True, exist_ok=True)
    saved = 0
    try:
        for s in range(n_seq):
            t1 = time.perf_counter()
            seq, stride = render_sequence(scenes, clips, video_length, video_fps, rng)
            t2 = time.perf_counter()
            saved = detect_into(cols, seq, static, s, stride, images_dir, images_count, saved)
            t_detect += time.perf_counter() - t2
            t_render += t2 - t1
            if progress and (s + 1) % max(1, n_seq // 20) == 0:
                progress(f"{s + 1}/{n_seq} sequences, {len(cols['uv'])} frames, "
                         f"{len(cols['uv']) / (t_render + t_detect):.1f} frames/s")
    finally:
        if static is not None:
            static.close()
        scenes.close()
    meta = {"format": "structpose-renders-1", "sequences": n_seq, "video_length": video_length,
            "split": split, "seed": seed, "sources": list(sources), "scene": asdict(scenes.config),
            "seconds": {"setup": round(t_setup, 1), "render": round(t_render, 1), "detect": round(t_detect, 1)},
            "render_breakdown_s": {k: round(v, 1) for k, v in scenes.renderer.seconds.items()}}
    return write_pairs(out, cols, meta)


def render_sequence(scenes, clips: list, video_length: int, video_fps: float, rng: np.random.Generator):
    """One random sequence (a clip chosen uniformly, a start, ~``video_fps`` by striding 60 / 120 Hz mocap)
    rendered by ``scenes`` (an ``AnnyScenes``).  Returns (``RenderedFrames``, stride)."""
    from ..render.anny_scene import pick_starts
    ci, start = pick_starts(clips, 1, video_length, 1, rng)[0]
    stride = max(1, round(clips[ci].fps / video_fps)) if video_length > 1 else 1
    if (video_length - 1) * stride + 1 > clips[ci].num_frames:
        stride = 1
    start = min(start, clips[ci].num_frames - (video_length - 1) * stride - 1)
    return scenes.sequence(clips[ci], start, video_length, rng, stride), stride


def detect_into(cols: dict[str, list], seq, static, s: int, stride: int, images_dir=None, images_count: int = 0,
                saved: int = 0) -> int:
    """Run MediaPipe over one rendered sequence (``static``: a shared static-mode detector for stills, or
    None for a fresh tracking detector) and append its frames to ``cols`` (keys :data:`KEYS`) as
    sequence ``s``.  Returns how many images have been saved so far."""
    from ..pipeline.detector import PoseDetector
    video_length = len(seq.images)
    det = static if static is not None else PoseDetector(video=True)
    try:
        for k in range(video_length):
            bgr = cv2.cvtColor(seq.images[k], cv2.COLOR_RGB2BGR)
            d = det(bgr)
            cols["det_2d"].append(d.keypoints)
            cols["det_scores"].append(d.scores)
            cols["det_world"].append(np.full((17, 3), np.nan, np.float32) if d.world33 is None
                                     else convert(d.world33, "mediapipe33", "h36m17").astype(np.float32))
            cols["det_found"].append(d.found)
            if saved < images_count and images_dir is not None:
                cv2.imwrite(str(Path(images_dir) / f"render_{s:05d}_{k:03d}.png"), bgr)
                saved += 1
    finally:
        if det is not static:
            det.close()
    cam = seq.camera
    for k in range(video_length):
        cols["uv"].append(seq.uv[k])
        cols["joints_cam"].append(seq.joints_cam[k])
        cols["joints_world"].append(seq.joints_world[k])
        cols["source_world"].append(seq.source_world[k])
        cols["in_image"].append(seq.in_image[k])
        cols["unoccluded"].append(seq.unoccluded[k])
        cols["focal"].append(cam.f)
        cols["centre"].append(cam.c)
        cols["image_size"].append(cam.image_size)
        cols["cam_R"].append(cam.R)
        cols["cam_t"].append(cam.t)
        cols["shape"].append(seq.shape)
        cols["sequence"].append(s)
        cols["seq_frame"].append(k)
        cols["clip_frame"].append(seq.frames[k])
        cols["clip"].append(seq.clip)
        cols["fps"].append(seq.fps / stride)
        cols["video"].append(video_length > 1)
    return saved


def write_pairs(out: str | Path, cols: dict[str, list], meta: dict) -> dict:
    """Write the columns ``cols`` and ``meta`` (completed with frame count, versions and rates) atomically
    as the npz ``out``; returns the meta."""
    n = len(cols["uv"])
    dtypes = {"det_found": bool, "in_image": bool, "unoccluded": bool, "video": bool, "image_size": np.int32,
              "sequence": np.int32, "seq_frame": np.int32, "clip_frame": np.int32, "clip": str}
    arrays = {k: np.asarray(v, dtype=dtypes.get(k, np.float32)) for k, v in cols.items()}
    import anny
    import mediapipe
    import pyrender
    sec = meta.get("seconds", {})
    meta = {**meta, "frames": n,
            "versions": {"anny": anny.__version__, "mediapipe": mediapipe.__version__,
                         "pyrender": pyrender.__version__},
            "renders_per_s": round(n / max(sec.get("render", 0.0), 1e-9), 2),
            "detections_per_s": round(n / max(sec.get("detect", 0.0), 1e-9), 2)}
    with atomic_path(out) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays, meta=np.array(json.dumps(meta)))
    return meta


def load_pairs(path: str | Path) -> dict[str, np.ndarray]:
    """Read a renders npz written by :func:`generate`; refuse anything else with one line."""
    path = Path(path)
    if not path.is_file():
        raise StructposeError(f"renders file {path} not found; make one with `structpose data renders`")
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError) as e:
        raise StructposeError(f"cannot read renders file {path}: {str(e).splitlines()[0][:100]}") from None
    missing = [k for k in (*KEYS, "meta") if k not in data]
    if missing:
        raise StructposeError(f"{path} is not a structpose renders file (missing {', '.join(missing[:4])})")
    n = len(data["uv"])
    if data["uv"].shape != (n, 17, 2) or data["det_2d"].shape != (n, 17, 2) or data["joints_cam"].shape != (n, 17, 3):
        raise StructposeError(f"{path}: inconsistent array shapes (uv {data['uv'].shape}, det_2d "
                              f"{data['det_2d'].shape}, joints_cam {data['joints_cam'].shape})")
    return data
