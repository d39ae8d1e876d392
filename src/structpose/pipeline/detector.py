"""The 2D front end: MediaPipe pose (0.10.21, the bundled BlazePose *full* model), fully offline.

One person per image.  MediaPipe's 33 landmarks become H36M-17 pixels through
``skeleton.convert(..., "mediapipe33", "h36m17")`` (pelvis, spine, thorax and head top are
synthesised from hips, shoulders and nose there); each H36M joint gets a score = the visibility of
its source landmarks (the minimum, for synthesised joints), so a joint MediaPipe guesses behind an
occluder or outside the image carries a low score instead of looking certain.

``model_complexity=1`` is the only model shipped inside the wheel; 0 and 2 try to download their
models at run time and fail offline, so they are refused here with a clear line.
"""
from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Self

import numpy as np

from ..data.imread import read_image  # noqa: F401  (re-exported: photos are read once, in data.imread)
from ..errors import StructposeError
from ..skeleton import conversion_matrix, convert

_W = conversion_matrix("mediapipe33", "h36m17")            # (17, 33)
_SOURCES = [np.flatnonzero(np.nan_to_num(row) != 0) for row in _W]


@dataclass
class Detection:
    """One frame's 2D pose: ``keypoints`` (17, 2) pixels H36M-17 (NaN if no person), ``scores`` (17,)
    in [0, 1] (0 if no person), ``found`` whether a person was detected.

    MediaPipe's raw output rides along for evaluation (None if no person): ``landmarks33`` (33, 2)
    pixels, ``visibility33`` (33,), ``world33`` (33, 3) its own 3D world landmarks (metres, origin
    between the hips, axes as the camera's: x right, y down, z away from the camera)."""

    keypoints: np.ndarray
    scores: np.ndarray
    found: bool
    landmarks33: np.ndarray | None = None
    visibility33: np.ndarray | None = None
    world33: np.ndarray | None = None


def landmarks_to_h36m(landmarks: np.ndarray, visibility: np.ndarray, image_size: tuple[int, int]
                      ) -> tuple[np.ndarray, np.ndarray]:
    """``(..., 33, 2)`` normalised MediaPipe landmarks in [0, 1] + ``(..., 33)`` visibility ->
    ``((..., 17, 2) pixels, (..., 17) scores)`` in H36M-17 order."""
    w, h = image_size
    px = np.asarray(landmarks, np.float64) * np.array([w, h], np.float64)
    kp = convert(px, "mediapipe33", "h36m17")
    vis = np.clip(np.asarray(visibility, np.float64), 0.0, 1.0)
    scores = np.stack([vis[..., src].min(-1) for src in _SOURCES], -1)
    return kp.astype(np.float32), scores.astype(np.float32)


_QUIET_LOCK = threading.Lock()
_quiet = {"depth": 0, "saved": -1, "devnull": -1}


@contextlib.contextmanager
def _quiet_native_stderr(active: bool) -> Iterator[None]:
    """Silence C++ logging (TFLite / glog start-up chatter) written straight to file descriptor 2.
    Reference-counted under a lock: detectors in several threads (``parallel_detect``) overlap here,
    and the first in saves fd 2, the last out restores it (saving it twice would keep /dev/null)."""
    if not active:
        yield
        return
    with _QUIET_LOCK:
        if _quiet["depth"] == 0:
            try:
                sys.stderr.flush()
                saved = os.dup(2)
            except (OSError, ValueError):          # no real fd 2 (e.g. captured by a test runner)
                saved = -1
            if saved >= 0:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 2)
                _quiet.update(saved=saved, devnull=devnull)
        _quiet["depth"] += 1
    try:
        yield
    finally:
        with _QUIET_LOCK:
            _quiet["depth"] -= 1
            if _quiet["depth"] == 0 and _quiet["saved"] >= 0:
                os.dup2(_quiet["saved"], 2)
                os.close(_quiet["saved"])
                os.close(_quiet["devnull"])
                _quiet.update(saved=-1, devnull=-1)


class PoseDetector:
    """MediaPipe pose on BGR uint8 images (as cv2 reads them).

    ``video=True`` tracks the person from frame to frame (MediaPipe's landmark-to-ROI tracking,
    faster than re-detecting); ``video=False`` treats every image on its own.  Use as a context
    manager or call :meth:`close`.
    """

    def __init__(self, video: bool = False, model_complexity: int = 1, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5) -> None:
        if model_complexity != 1:
            raise StructposeError(f"model_complexity={model_complexity} is not available offline; "
                                  "mediapipe 0.10.21 bundles only the full model (complexity 1)")
        os.environ.setdefault("GLOG_minloglevel", "2")      # MediaPipe's C++ logs are noise for users
        try:
            import mediapipe as mp
        except ImportError:
            raise StructposeError("the detector needs mediapipe==0.10.21: "
                                  "pip install 'structpose[video]' (or `make setup`)") from None
        with _quiet_native_stderr(True):
            self._pose = mp.solutions.pose.Pose(
                static_image_mode=not video, model_complexity=1, smooth_landmarks=video,
                enable_segmentation=False, min_detection_confidence=min_detection_confidence,
                min_tracking_confidence=min_tracking_confidence)
        self._calls = 0

    def __call__(self, image_bgr: np.ndarray) -> Detection:
        """One BGR ``(H, W, 3)`` uint8 image (or ``(H, W)`` grey) -> :class:`Detection`."""
        import cv2
        img = np.asarray(image_bgr)
        if img.dtype != np.uint8 or img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] not in (3, 4)):
            raise StructposeError(f"image has shape {img.shape} and dtype {img.dtype}; expected (H, W, 3) uint8 BGR")
        if img.shape[0] < 8 or img.shape[1] < 8:
            raise StructposeError(f"image is {img.shape[1]}x{img.shape[0]} pixels; too small to find a person")
        if img.ndim == 2:
            rgb = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
        elif img.shape[2] == 4:
            rgb = cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
        else:
            rgb = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        # MediaPipe logs its graph start-up (XNNPACK delegate, feedback tensors) on the first calls
        with _quiet_native_stderr(self._calls < 3):
            res = self._pose.process(rgb)
        self._calls += 1
        h, w = img.shape[:2]
        if res.pose_landmarks is None:
            return Detection(np.full((17, 2), np.nan, np.float32), np.zeros(17, np.float32), False)
        lm = res.pose_landmarks.landmark
        xy = np.array([(p.x, p.y) for p in lm], np.float64)
        vis = np.array([p.visibility for p in lm], np.float64)
        kp, sc = landmarks_to_h36m(xy, vis, (w, h))
        world = None
        if res.pose_world_landmarks is not None:
            world = np.array([(p.x, p.y, p.z) for p in res.pose_world_landmarks.landmark], np.float32)
        return Detection(kp, sc, True, (xy * np.array([w, h])).astype(np.float32), vis.astype(np.float32), world)

    def close(self) -> None:
        self._pose.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
