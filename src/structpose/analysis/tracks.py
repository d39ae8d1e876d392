"""Per-frame MediaPipe outputs of a video, computed once and cached in the data folder.

A *track* holds, for every frame of one video, what the detector saw: H36M-17 keypoints and scores
(the structpose input), MediaPipe's raw 33 landmarks in pixels with their visibility, and its own 3D
world landmarks.  Two detector modes are kept apart because structpose's commands use both:
``"video"`` tracks the person from frame to frame (``structpose video``), ``"image"`` treats every
frame as a photo (``structpose image``).  In ``"image"`` mode the track also keeps SAP-Net's
camera-frame pose per frame (``structpose image --model sapnet``), so the pixels are decoded once.

Caches are ``.npz`` files named after the video's name, size and modification time, so an edited
video is never matched to a stale cache; they hold plain arrays (no pickles).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from ..errors import StructposeError

MODES = ("video", "image")
CACHE_VERSION = 1


@dataclass
class Track:
    """One video seen by MediaPipe; ``T`` frames, NaN where no person was found.

    ``keypoints`` (T, 17, 2) px H36M-17, ``scores`` (T, 17), ``landmarks33`` (T, 33, 2) px,
    ``visibility33`` (T, 33), ``world33`` (T, 33, 3) m (MediaPipe's world landmarks), ``found`` (T,),
    ``sapnet`` (T, 17, 3) m camera frame or None, ``fps``, ``image_size`` (width, height).
    """

    keypoints: np.ndarray
    scores: np.ndarray
    landmarks33: np.ndarray
    visibility33: np.ndarray
    world33: np.ndarray
    found: np.ndarray
    fps: float
    image_size: tuple[int, int]
    sapnet: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.found)


def cache_path(video: Path, mode: str, cache_dir: Path, max_frames: int | None, sapnet: bool = False) -> Path:
    """The cache file of one track; image mode with SAP-Net also keys on the shipped SAP-Net weights' bytes,
    so new weights are never scored from an old track."""
    st = video.stat()
    key = f"{video.resolve()}|{st.st_size}|{st.st_mtime_ns}|{mode}|{max_frames}|{CACHE_VERSION}"
    if mode == "image" and sapnet:
        from ..models.sapnet import PRETRAINED
        key += "|sapnet:" + hashlib.sha256(PRETRAINED.read_bytes()).hexdigest()
    return cache_dir / f"{video.stem}.{mode}.{hashlib.sha1(key.encode()).hexdigest()[:12]}.npz"


def _save(path: Path, track: Track) -> None:
    from ..io.atomic import atomic_path
    arrays = {f.name: getattr(track, f.name) for f in fields(track) if getattr(track, f.name) is not None}
    arrays["fps"] = np.float64(track.fps)
    arrays["image_size"] = np.asarray(track.image_size, np.int64)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)


def _load(path: Path) -> Track:
    with np.load(path, allow_pickle=False) as z:
        d = {k: z[k] for k in z.files}
    return Track(keypoints=d["keypoints"], scores=d["scores"], landmarks33=d["landmarks33"],
                 visibility33=d["visibility33"], world33=d["world33"], found=d["found"].astype(bool),
                 fps=float(d["fps"]), image_size=(int(d["image_size"][0]), int(d["image_size"][1])),
                 sapnet=d.get("sapnet"))


def detect_video(video: str | Path, mode: str = "video", cache_dir: str | Path | None = None,
                 max_frames: int | None = None, sapnet: bool = True) -> Track:
    """Run MediaPipe (and, in ``"image"`` mode, SAP-Net) on every frame; cached when ``cache_dir`` is given."""
    if mode not in MODES:
        raise StructposeError(f"detector mode {mode!r}; choose one of {', '.join(MODES)}")
    video = Path(video)
    from ..pipeline.video import frames, open_source
    cap, info = open_source(str(video))
    path = cache_path(video, mode, Path(cache_dir), max_frames, sapnet) if cache_dir is not None else None
    if path is not None and path.is_file():
        cap.release()              # type: ignore[attr-defined]
        return _load(path)
    from ..pipeline.detector import PoseDetector
    from ..pipeline.lifting import DEFAULT_FOV_DEG, focal_from_fov
    rows: dict[str, list] = {k: [] for k in ("keypoints", "scores", "landmarks33", "visibility33", "world33",
                                             "found", "sapnet")}
    size = (info["width"], info["height"])
    try:
        with PoseDetector(video=(mode == "video")) as det:
            for img in frames(cap, max_frames):
                size = (img.shape[1], img.shape[0])
                d = det(img)
                rows["keypoints"].append(d.keypoints)
                rows["scores"].append(d.scores)
                rows["found"].append(d.found)
                rows["landmarks33"].append(d.landmarks33 if d.found else np.full((33, 2), np.nan, np.float32))
                rows["visibility33"].append(d.visibility33 if d.found else np.zeros(33, np.float32))
                world = d.world33 if d.world33 is not None else np.full((33, 3), np.nan, np.float32)
                rows["world33"].append(world)
                if mode == "image" and sapnet:
                    pose = np.full((17, 3), np.nan, np.float32)
                    if d.found:
                        from ..pipeline.sapnet import sapnet_on_detection
                        pose, _ = sapnet_on_detection(img, d, focal_from_fov(size, DEFAULT_FOV_DEG))
                    rows["sapnet"].append(np.asarray(pose, np.float32))
    finally:
        cap.release()              # type: ignore[attr-defined]
    if not rows["found"]:
        raise StructposeError(f"{video}: no frame could be decoded (empty or corrupt video)")
    track = Track(keypoints=np.stack(rows["keypoints"]), scores=np.stack(rows["scores"]),
                  landmarks33=np.stack(rows["landmarks33"]), visibility33=np.stack(rows["visibility33"]),
                  world33=np.stack(rows["world33"]), found=np.array(rows["found"], bool), fps=info["fps"],
                  image_size=size, sapnet=np.stack(rows["sapnet"]) if rows["sapnet"] else None)
    if path is not None:
        _save(path, track)
    return track


def check_synchronised(videos: tuple[Path, ...] | list[Path]) -> tuple[int, float]:
    """Open every view; all must have the same frame count and frame rate (a multi-view recording
    whose views differ cannot be paired frame by frame).  Returns ``(frames, fps)``."""
    from ..pipeline.video import open_source
    if len(videos) < 2:
        raise StructposeError(f"{len(videos)} view(s) given; multi-view evaluation needs 2 or more synchronised videos")
    infos = []
    for v in videos:
        cap, info = open_source(str(v))
        cap.release()              # type: ignore[attr-defined]
        infos.append(info)
    counts = [i["frames"] for i in infos]
    rates = [i["fps"] for i in infos]
    if len(set(counts)) != 1:
        listing = ", ".join(f"{Path(v).name}: {n}" for v, n in zip(videos, counts))
        raise StructposeError(f"views have different lengths ({listing} frames); give synchronised videos "
                              "of equal length")
    if not np.allclose(rates, rates[0], rtol=1e-3):
        listing = ", ".join(f"{Path(v).name}: {r:g}" for v, r in zip(videos, rates))
        raise StructposeError(f"views have different frame rates ({listing} fps); give synchronised videos "
                              "recorded at one frame rate")
    return int(counts[0]), float(rates[0])
