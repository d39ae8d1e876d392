"""Rendered mp4: the video with the 2D skeleton drawn on it, beside a 3D view of the lifted pose.

(This lives here, not in ``structpose/render.py``: ``structpose.render`` is the package that renders
training images of capsule bodies.)  The 3D panel is drawn with OpenCV lines, not matplotlib, so
rendering costs ~1 ms per frame: the root-relative pose turned ``azim`` degrees about the vertical
so depth shows, orthographic, on a fixed scale (2.2 m tall), with a floor line and the side
colours of :mod:`structpose.viz` (right red, left blue).  Frames without a pose say so in the panel.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import StructposeError
from ..skeleton import H36M17
from ..viz import _BGR, draw_skeleton_2d, side_colour


def draw_3d_panel(pose: np.ndarray | None, size: int, azim_deg: float = 35.0, extent_m: float = 2.2,
                  label: str = "") -> np.ndarray:
    """``(17, 3)`` camera-frame pose (metres; NaN/None = no pose) -> ``(size, size, 3)`` BGR panel."""
    import cv2
    panel = np.full((size, size, 3), 28, np.uint8)
    s = size / extent_m
    cx, cy = size / 2, size * 0.45
    cv2.line(panel, (int(size * 0.1), int(cy + 0.95 * s)), (int(size * 0.9), int(cy + 0.95 * s)), (70, 70, 70), 1)
    if pose is None or not np.isfinite(pose).all():
        cv2.putText(panel, "no pose", (int(size * 0.35), int(size * 0.5)), cv2.FONT_HERSHEY_SIMPLEX,
                    size / 500, (180, 180, 180), 1, cv2.LINE_AA)
    else:
        rel = np.asarray(pose, float) - pose[0]
        a = np.radians(azim_deg)
        x = rel[:, 0] * np.cos(a) - rel[:, 2] * np.sin(a)         # turn about camera y (vertical)
        depth = rel[:, 0] * np.sin(a) + rel[:, 2] * np.cos(a)
        pts = np.stack([cx + s * x, cy + s * rel[:, 1]], -1)
        th = max(2, size // 150)
        order = sorted(H36M17.bones, key=lambda b: -depth[b[1]])  # far bones first
        for p, c in order:
            a_, b_ = (tuple(round(v) for v in pts[j]) for j in (p, c))
            cv2.line(panel, a_, b_, _BGR[side_colour(H36M17, c)], th, cv2.LINE_AA)
    if label:
        cv2.putText(panel, label, (8, size - 10), cv2.FONT_HERSHEY_SIMPLEX, size / 900, (200, 200, 200), 1,
                    cv2.LINE_AA)
    return panel


def compose(image_bgr: np.ndarray, keypoints: np.ndarray | None, scores: np.ndarray | None,
            pose: np.ndarray | None, height: int = 480, min_score: float = 0.3, label: str = "") -> np.ndarray:
    """Overlay + 3D panel side by side, ``height`` pixels tall."""
    import cv2
    img = image_bgr if image_bgr.ndim == 3 else cv2.cvtColor(image_bgr, cv2.COLOR_GRAY2BGR)
    if keypoints is not None and np.isfinite(keypoints).any():
        img = draw_skeleton_2d(img, np.nan_to_num(keypoints, nan=-1e4), scores, threshold=min_score)
    scale = height / img.shape[0]
    img = cv2.resize(img, (round(img.shape[1] * scale), height), interpolation=cv2.INTER_AREA)
    return np.concatenate([img, draw_3d_panel(pose, height, label=label)], axis=1)


class VideoWriter:
    """An mp4 written to a temporary file and renamed on :meth:`close` (atomic, like every output).

    Drawing and encoding run in the writer's own thread (:meth:`submit` queues a callable that
    returns a frame), so rendering overlaps detection instead of stalling the 3D stage; the queue is
    bounded, so memory stays flat.
    """

    def __init__(self, path: str | Path, fps: float, queue_size: int = 8) -> None:
        import contextlib
        import queue
        import threading

        from ..io.atomic import atomic_path
        self.path, self.fps = Path(path), float(fps)
        self._stack = contextlib.ExitStack()
        self._tmp = self._stack.enter_context(atomic_path(self.path))
        self._writer = None
        self._error: list[BaseException] = []
        self._q: queue.Queue = queue.Queue(maxsize=queue_size)
        self._thread = threading.Thread(target=self._work, daemon=True, name="structpose-render")
        self._thread.start()

    def _work(self) -> None:
        while True:
            job = self._q.get()
            if job is None:
                return
            if self._error:
                continue
            try:
                self._write_now(job())
            except BaseException as e:  # noqa: BLE001 - re-raised by close()
                self._error.append(e)

    def _write_now(self, frame_bgr: np.ndarray) -> None:
        import cv2
        if self._writer is None:
            h, w = frame_bgr.shape[:2]
            from ..io.atomic import opening_temporary
            with opening_temporary():        # a SIGTERM clean-up must not race with this open re-creating the file
                self._writer = cv2.VideoWriter(str(self._tmp), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (w, h))
            if not self._writer.isOpened():
                raise StructposeError(f"{self.path}: cannot write an mp4 here (OpenCV has no mp4v encoder?)")
        self._writer.write(frame_bgr)

    def submit(self, make_frame) -> None:
        """Queue ``make_frame()`` (drawn and encoded in the writer thread, in submission order)."""
        self._q.put(make_frame)

    def write(self, frame_bgr: np.ndarray) -> None:
        self.submit(lambda: frame_bgr)

    def close(self, ok: bool = True) -> None:
        """Finish encoding; rename into place if ``ok`` and every frame was written, else discard."""
        self._q.put(None)
        self._thread.join()
        if self._writer is not None:
            self._writer.release()
        if ok and self._writer is not None and not self._error:
            self._stack.close()                           # rename into place
        else:
            self._stack.__exit__(StructposeError, StructposeError("render aborted"), None)
        if ok and self._error:
            raise self._error[0]
