"""Streaming video -> 3D: decode (cv2) -> detect (MediaPipe) -> lift -> TP-Net -> skeleton fit -> write.

Streaming and memory
    Frames are decoded by a background thread into a small bounded queue (decode overlaps with
    detection; MediaPipe and torch release the GIL), processed one at a time and dropped.  Only the
    per-frame results are kept (17 joints x (3 + 2 + 1) floats per frame, ~400 bytes), so memory
    stays flat however long the video is (``benchmarks/bench_video.py`` measures peak RSS vs
    length).

Missing people and joints (never silent zeros)
    * A frame where MediaPipe finds nobody has ``scores`` 0, ``poses_2d`` NaN, ``valid`` False and
      NaN in ``poses_3d``.
    * A joint scored below ``min_score`` is masked for the lifter (it predicts that joint from
      the others); its score is kept in the output so users can see it was a guess.
    * The temporal stage (:mod:`structpose.pipeline.refiner`) bridges gaps of up to 0.5 s in its
      window (holding / interpolating) and restarts after longer ones; frames without a detection
      are still written as invalid.

Modes
    ``online``: the streaming TP-Net (no look-ahead), skeleton fitted with a running median of
    bone lengths (last 10 s).  ``bidirectional``: the per-frame lifted poses are kept (small) and
    refined in a second pass over the whole sequence when the video ends (TP-Net with half its
    window in the future), bone lengths from the whole sequence.  ``none``: the lifter alone (+ fit).
    Fitting follows the one policy of :mod:`structpose.fitting` (left/right symmetrised lengths).
"""
from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import StructposeError
from ..io.posefile import PoseSequence
from .lifting import DEFAULT_FOV_DEG, DEFAULT_MIN_SCORE, PoseLifter, detector_lifter, detector_world
from .refiner import MODES

# FFmpeg "decodes" text files as ANSI art (the tty demuxer) and single images as 1-frame videos;
# text is refused, images are accepted as one-frame videos (documented)
_NOT_VIDEO = {"ansi", "bin"}


def open_source(source: str | int) -> tuple[object, dict]:
    """Open a video file, webcam index (``"0"``) or stream URL with cv2; one clear line if it fails.

    Returns ``(capture, info)`` with ``info = {fps, frames (or None), width, height, live}``.
    """
    import cv2
    live = False
    if isinstance(source, int) or (isinstance(source, str) and source.isdigit()):
        cap, live, name = cv2.VideoCapture(int(source)), True, f"webcam {source}"
    elif isinstance(source, str) and "://" in source:
        cap, live, name = cv2.VideoCapture(source), True, source
    else:
        p = Path(source)
        if p.is_dir():
            raise StructposeError(f"{p} is a folder; give a video file, a webcam index such as 0, or a URL")
        if not p.is_file():
            raise StructposeError(f"{p}: no such video file (give a file, a webcam index such as 0, or a URL)")
        if p.stat().st_size == 0:
            raise StructposeError(f"{p}: the file is empty; expected a video (mp4, avi, mkv, mov, webm ...)")
        cap, name = cv2.VideoCapture(str(p)), str(p)
    if not cap.isOpened():
        if isinstance(source, int) or str(source).isdigit():
            raise StructposeError(f"{name}: cannot open this camera (no such device, or it is busy); "
                                  "give another index or a video file")
        if "://" in str(source):
            raise StructposeError(f"{name}: cannot open the stream (unreachable or not a video stream)")
        raise StructposeError(f"{name}: cannot open as a video (unsupported format or corrupt file; "
                              "cv2/FFmpeg reads mp4, avi, mkv, mov, webm)")
    fourcc = int(cap.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode("latin-1").strip("\x00 ").lower()
    if not live and fourcc in _NOT_VIDEO:
        cap.release()
        raise StructposeError(f"{name}: not a video (FFmpeg reads it as {fourcc!r} text/image data); "
                              "expected mp4, avi, mkv, mov, webm ...")
    fps = cap.get(cv2.CAP_PROP_FPS)
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    info = {"fps": float(fps) if np.isfinite(fps) and 0 < fps < 1000 else 30.0,
            "fps_known": bool(np.isfinite(fps) and 0 < fps < 1000),
            "frames": n if (n > 0 and not live) else None, "width": int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            "height": int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)), "live": live, "name": name}
    from ..data.imread import MAX_IMAGE_PIXELS
    if info["width"] * info["height"] > MAX_IMAGE_PIXELS:
        cap.release()
        raise StructposeError(f"{name}: frames of {info['width']}x{info['height']} pixels; at most "
                              f"{MAX_IMAGE_PIXELS / 1e6:.0f} megapixels per frame are accepted (scale the video down)")
    return cap, info


def frames(cap: object, max_frames: int | None = None, prefetch: int = 4) -> Iterator[np.ndarray]:
    """Decode frames in a background thread; yields BGR uint8 images; ``prefetch`` bounds memory."""
    q: queue.Queue = queue.Queue(maxsize=prefetch)
    stop = threading.Event()

    def work() -> None:
        k = 0
        try:
            while not stop.is_set() and (max_frames is None or k < max_frames):
                ok, img = cap.read()          # type: ignore[attr-defined]
                if not ok:
                    break
                q.put(img)
                k += 1
        finally:
            q.put(None)

    th = threading.Thread(target=work, daemon=True, name="structpose-decode")
    th.start()
    try:
        while True:
            img = q.get()
            if img is None:
                break
            yield img
    finally:
        stop.set()
        while th.is_alive():                  # unblock a producer waiting on a full queue
            try:
                q.get_nowait()
            except queue.Empty:
                time.sleep(0.001)
        th.join()


@dataclass
class Timings:
    """Seconds spent per stage (summed over frames) and the wall time."""

    decode_wait: float = 0.0
    detect: float = 0.0
    lift: float = 0.0
    temporal: float = 0.0
    write: float = 0.0
    wall: float = 0.0
    frames: int = 0
    extra: dict = field(default_factory=dict)

    def per_frame_ms(self) -> dict[str, float]:
        n = max(self.frames, 1)
        return {k: 1000 * getattr(self, k) / n for k in ("decode_wait", "detect", "lift", "temporal", "write", "wall")}


def auto_detect_workers(info: dict, on_frame=None, asked: int | None = None) -> int:
    """How many MediaPipe graphs ``process_video`` runs (:mod:`structpose.pipeline.parallel_detect`):
    ``asked`` (``--detect-workers``), else ``STRUCTPOSE_DETECT_WORKERS`` if set, else 1.  Opt-in: on the
    shared 2-core machine of its measurements, two graphs were 0.7-1.2x one graph's speed end to end (the
    other jobs left no free core), and faster only where the second core was free (docs/speed.md).  Always
    1 for a webcam or stream, a file whose frame count is unknown, or when frames are drawn (``on_frame``
    needs the images in order)."""
    env = os.environ.get("STRUCTPOSE_DETECT_WORKERS")
    if asked is not None:
        if int(asked) < 1:
            raise StructposeError(f"--detect-workers {asked}; expected a whole number >= 1")
        n = int(asked)
    elif env:
        if not env.isdigit() or int(env) < 1:
            raise StructposeError(f"STRUCTPOSE_DETECT_WORKERS={env!r}; expected a whole number >= 1")
        n = int(env)
    else:
        n = 1
    if n > 1 and (info.get("live") or not info.get("frames") or on_frame is not None):
        from ..errors import warn
        why = ("a live source" if info.get("live") else "the frame count is unknown" if not info.get("frames")
               else "frames are drawn in order")
        warn(f"{n} MediaPipe graphs asked, 1 used: {why} (a file with a known frame count and no drawing can "
             "use several)")
        return 1
    return n


def _detect_one_graph(cap: object, max_frames: int | None, keep_images: bool, tm: Timings) -> Iterator[tuple]:
    """One tracking graph over every frame: ``(shape, detection, seconds detecting, image or None)``."""
    from .detector import PoseDetector
    with PoseDetector(video=True) as det:
        it = frames(cap, max_frames)
        try:
            while True:
                t0 = time.perf_counter()
                img = next(it, None)
                t1 = time.perf_counter()
                tm.decode_wait += t1 - t0
                if img is None:
                    return
                d = det(img)
                yield img.shape, d, time.perf_counter() - t1, img if keep_images else None
        finally:
            it.close()


def process_video(source: str | int, mode: str = "online", fit: bool = True, lifter: PoseLifter | None = None,
                  fov_deg: float = DEFAULT_FOV_DEG, min_score: float = DEFAULT_MIN_SCORE,
                  max_frames: int | None = None, progress: bool = True, on_frame=None,
                  tpnet: str | Path | None = None, opened: tuple | None = None,
                  height: float | None = None, detect_workers: int | None = None
                  ) -> tuple[PoseSequence, Timings]:
    """Run the whole chain on a video; returns the pose sequence (camera frame, metres) and timings.

    ``height`` (metres, the person's standing height prior): also place the poses in a world frame
    (:func:`structpose.pipeline.world_step.attach_world`; time in ``Timings.extra["world"]``); None: no.

    ``on_frame(index, image, detection, pose_3d_or_None)`` is called per frame (e.g. for live
    rendering); ``pose_3d`` is the online output, or None in bidirectional mode.  ``opened``: the
    ``(capture, info)`` of :func:`open_source` when the caller opened the source already (a webcam
    cannot be opened twice).  ``detect_workers``: MediaPipe graphs for a file (None: :func:`auto_detect_workers`;
    :mod:`structpose.pipeline.parallel_detect`).
    """
    if mode not in MODES:
        raise StructposeError(f"mode {mode!r} unknown; choose one of {', '.join(MODES)}")
    from .detector import PoseDetector
    from .refiner import OnlineRefiner, refine_and_fit
    cap, info = opened if opened is not None else open_source(source)
    lifter = lifter or PoseLifter(detector_lifter(), fov_deg=fov_deg, min_score=min_score)
    fps = info["fps"]
    refiner = OnlineRefiner(model=tpnet, fps=fps, fit=bool(fit)) if mode == "online" else None
    kp_all, sc_all, lifted, out3d, found, world_all = [], [], [], [], [], []
    use_world = lifter.uses_world
    tm = Timings()
    workers = auto_detect_workers(info, on_frame, detect_workers)     # before the bar: a bad value is one line
    bar = None
    if progress:
        from tqdm import tqdm
        total = info["frames"] if max_frames is None or info["frames"] is None else min(info["frames"], max_frames)
        bar = tqdm(total=total, unit="frame", desc="structpose video", dynamic_ncols=True,
                   smoothing=0.1)
    size = None
    t_wall = time.perf_counter()
    # the lift / TP-Net / fit / render stage runs in its own thread, overlapping MediaPipe on the
    # other core; a bounded queue keeps memory flat and preserves frame order
    post_q: queue.Queue = queue.Queue(maxsize=8)
    failure: list[BaseException] = []

    def post() -> None:
        while True:
            item = post_q.get()
            if item is None:
                return
            if failure:
                continue                       # drain after an error so the producer never blocks
            try:
                i, img, d, sz = item
                t2 = time.perf_counter()
                cam = None
                w = detector_world(d) if use_world else None
                if mode == "online":              # offline modes lift the whole clip at once at the end
                    cam, _ = lifter(d.keypoints, d.scores, sz, w)
                    if not d.found:
                        cam = np.full((17, 3), np.nan, np.float32)
                found.append(d.found)
                t3 = time.perf_counter()
                pose = refiner.push(cam) if refiner is not None else None
                t4 = time.perf_counter()
                kp_all.append(d.keypoints), sc_all.append(d.scores), lifted.append(cam), world_all.append(w)
                if pose is not None:
                    out3d.append(pose)
                if on_frame is not None:
                    on_frame(i, img, d, pose)
                t5 = time.perf_counter()
                tm.lift += t3 - t2
                tm.temporal += t4 - t3
                tm.write += t5 - t4
            except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
                failure.append(e)

    worker = threading.Thread(target=post, daemon=True, name="structpose-post")
    worker.start()
    detections = None
    try:
        if workers > 1:
            # a file on several cores: contiguous chunks, one tracking graph each (parallel_detect)
            from .parallel_detect import detect_chunks
            cap.release()                     # type: ignore[attr-defined]
            tm.extra["detect_workers"] = workers
            detections = detect_chunks(info["name"], info["frames"], lambda: PoseDetector(video=True), workers,
                                       max_frames, stats=tm.extra)
        else:
            tm.extra["detect_workers"] = 1
            detections = _detect_one_graph(cap, max_frames, on_frame is not None, tm)
        for shape, d, dt, img in detections:
            if failure:
                break
            size = (shape[1], shape[0])
            tm.detect += dt
            post_q.put((tm.frames, img, d, size))
            tm.frames += 1
            if bar is not None:
                bar.update(1)
    finally:
        if detections is not None:
            detections.close()
        post_q.put(None)
        worker.join()
        cap.release()                     # type: ignore[attr-defined]
        if bar is not None:
            bar.close()
    if failure:
        raise failure[0]
    if tm.frames == 0:
        raise StructposeError(f"{info['name']}: no frame could be decoded (empty or corrupt video)")
    kp, sc = np.stack(kp_all), np.stack(sc_all)
    if mode == "online":
        lift3 = np.stack(lifted)
    else:
        # one batched call: ~50x cheaper per frame than the streaming NumPy path (bench_world speed)
        t0 = time.perf_counter()
        lift3, _ = lifter(kp, sc, size, np.stack(world_all) if use_world else None)
        lift3[~np.asarray(found)] = np.nan
        tm.lift += time.perf_counter() - t0
    detected = np.isfinite(lift3).all((1, 2))
    t0 = time.perf_counter()
    if mode == "online":
        poses = np.stack(out3d)
    else:
        poses = refine_and_fit(lift3, fps, mode=mode, fit=bool(fit), model=tpnet)
    tm.temporal += time.perf_counter() - t0
    poses = poses.astype(np.float32)
    poses[~detected] = np.nan              # the pose file's contract: invalid frames hold NaN
    tm.wall = time.perf_counter() - t_wall
    meta = {"source": info["name"], "mode": mode, "fit": bool(fit), "fov_deg_assumed": lifter.fov_deg,
            "focal_px": lifter.focal(size), "min_score": lifter.min_score, "detector": "mediapipe-0.10.21-full",
            "fps_from_file": info["fps_known"], "frames_without_person": int((~detected).sum()),
            "lifter": lifter.weights_label, "lifter_world_input": use_world}
    seq = PoseSequence(poses_3d=poses, fps=fps, poses_2d=kp, scores=sc, image_size=size,
                       valid=detected & np.isfinite(poses).all((1, 2)), meta=meta)
    if height is not None:
        from .world_step import attach_world
        t0 = time.perf_counter()
        attach_world(seq, height, mode)
        tm.extra["world"] = time.perf_counter() - t0
        tm.wall = time.perf_counter() - t_wall
    return seq, tm
