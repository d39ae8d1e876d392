"""MediaPipe on several cores for a video *file*: contiguous chunks, one tracking graph each.

MediaPipe's tracking is sequential (each frame's region comes from the previous frame's landmarks) and
one graph keeps about one core busy, so on a 2-core machine a single graph caps the chain.  Its
``process`` releases the GIL (measured: two graphs in two threads use both cores, 22.0 -> 12.4 ms per
frame on a quiet machine).  So the file is cut into ``workers`` contiguous chunks, each tracked at the full
frame rate by its own graph with its own decoder in its own thread.  The detections come back in frame
order: the first chunk's as they are made, later chunks' held (a
:class:`~structpose.pipeline.detector.Detection` is ~1 kB per frame) until the chunks before them end.

Identity.  A graph that starts cold on a chunk's first frame picks whoever scores highest there (on the
Sports2D demo, the other of its two people).  So a later chunk's graph is *primed*: it decodes the
frames before its chunk and tracks every :data:`PRIME_STRIDE`-th of them, from frame 0 (where the first
graph starts too), and is checked to hand over the same person (:func:`same_person`, its first frame
against the previous chunk's last).  If not, it is dropped and the previous chunk's graph, still warm,
goes on to the end of the file: the output is then exactly one graph's.  Chunk sizes balance priming
plus tracking between the workers (:func:`chunk_bounds`).

What changes against one graph: a later chunk is tracked from another state, so its landmarks differ by
a few pixels (more on single frames where the two tracks take a different limb);
``benchmarks/bench_detect_parallel.py`` measures the accuracy with and without.  Frames are never
seeked (priming reads from the start), so any file cv2 decodes in order works; the header's frame count
only places the chunks (a count that is too large loses nothing: the chunks past the real end read
nothing, and the last chunk reads on to the end of the file if it is too small).  Webcams and streams
stay on one graph (``structpose.pipeline.video``).
"""
from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from itertools import pairwise
from pathlib import Path

import numpy as np

from ..errors import StructposeError

#: a chunk shorter than this is not worth a second graph's start-up (~0.1-0.2 s)
MIN_CHUNK_FRAMES = 30
#: a later chunk's graph tracks every PRIME_STRIDE-th frame before its start (see _prime)
PRIME_STRIDE = 8
#: priming cost per frame, in tracked frames: decoding (~12 % of a tracked frame) + 1/PRIME_STRIDE of a detection
PRIME_COST = 0.12 + 0.88 / PRIME_STRIDE


def chunk_bounds(n_frames: int, workers: int, min_chunk: int = MIN_CHUNK_FRAMES,
                 prime_cost: float = 0.0) -> list[tuple[int, int]]:
    """``[(start, end), ...]`` contiguous chunks covering ``range(n_frames)``: at most ``workers``, each at
    least ``min_chunk`` frames long (one chunk if the video is short).  ``prime_cost``: the cost of
    priming a chunk per frame before its start, in units of one tracked frame; the chunks are sized so
    that priming plus tracking take each worker the same time (later chunks are shorter)."""
    if n_frames < 1:
        raise StructposeError(f"{n_frames} frames; expected at least 1")
    k = max(1, min(int(workers), n_frames // max(1, min_chunk)))
    # chunk j tracks L_j frames after priming through S_j = L_0 + ... + L_{j-1}: p S_j + L_j = C for all j
    lengths = np.ones(k)
    for j in range(1, k):
        lengths[j] = 1.0 - prime_cost * lengths[:j].sum()
    lengths = np.maximum(lengths, 1e-3)
    edges = np.r_[0, np.cumsum(lengths) / lengths.sum() * n_frames].round().astype(int)
    return [(int(a), int(b)) for a, b in pairwise(edges)]


def _prime(cap: object, det: object, start: int, stride: int, stop: threading.Event) -> None:
    """Read frames ``0 .. start-1`` of ``cap`` and track every ``stride``-th one (and the last) with
    ``det``: a later chunk's graph then follows the person the first chunk's graph picked on frame 0
    (a cold start on the chunk's own first frame picks whoever scores highest there)."""
    for f in range(start):
        if stop.is_set():
            return
        if f % stride and f != start - 1:
            if not cap.grab():                    # type: ignore[attr-defined]
                return
            continue
        ok, img = cap.read()                      # type: ignore[attr-defined]
        if not ok:
            return
        det(img)                                  # type: ignore[operator]


def same_person(a: object, b: object, tolerance: float = 0.25) -> bool:
    """Whether two detections on consecutive frames show the same person: both found and their H36M
    keypoints on average within ``tolerance`` of the first one's size (its keypoints' larger extent);
    a frame without a person before a found one counts as the same (one graph re-detects then too)."""
    fa, fb = bool(a.found), bool(b.found)
    if not fa:
        return True
    if not fb:
        return False
    ka, kb = np.asarray(a.keypoints, np.float64), np.asarray(b.keypoints, np.float64)
    size = float(np.max(np.nanmax(ka, 0) - np.nanmin(ka, 0)))
    return bool(np.nanmean(np.linalg.norm(ka - kb, axis=-1)) <= tolerance * max(size, 1.0))


def detect_chunks(path: str | Path, n_frames: int, make_detector: Callable[[], object], workers: int = 2,
                  max_frames: int | None = None, min_chunk: int = MIN_CHUNK_FRAMES, stats: dict | None = None,
                  prime_stride: int = PRIME_STRIDE) -> Iterator[tuple[tuple, object, float, None]]:
    """Yield ``(image_shape, detection, seconds spent detecting, None)`` for every frame of the file, in
    frame order; ``make_detector()`` builds one tracking detector (a context manager, called with a BGR
    image) per chunk, in the chunk's own thread.  ``n_frames``: the container's frame count
    (``max_frames`` caps it); frames past it are read by the last chunk until the file ends.

    Identity check: a later chunk starts cold and, with several people in view, may pick another
    person than the one tracked so far.  Its first frame is compared with the previous chunk's last
    (:func:`same_person`); if they differ, that chunk and all later ones are dropped and the previous
    chunk's graph, still warm, goes on to the end of the file: the output is then what one graph gives,
    at one graph's speed from there.  ``stats`` (if given) gets ``chunks`` and ``identity_fallback``."""
    total = n_frames if max_frames is None else min(n_frames, max_frames)
    bounds = chunk_bounds(total, workers, min_chunk, PRIME_COST if prime_stride < 10 ** 9 else 0.0)
    last = len(bounds) - 1
    queues: list[queue.Queue] = [queue.Queue() for _ in bounds]
    read = [0] * len(bounds)                     # frames each chunk read
    stop = [threading.Event() for _ in bounds]   # drop this chunk
    decided = [threading.Event() for _ in bounds]
    extend = [False] * len(bounds)               # go on to the end of the file after the chunk
    failure: list[BaseException | None] = [None] * len(bounds)
    done = object()
    if stats is not None:
        stats.update(chunks=len(bounds), identity_fallback=None)

    def work(k: int, start: int, end: int) -> None:
        cap = None
        try:
            import cv2
            cap = cv2.VideoCapture(str(path))
            limit = (end - start) if k < last else (None if max_frames is None else max_frames - start)
            with make_detector() as det:         # type: ignore[attr-defined]
                _prime(cap, det, start, prime_stride, stop[k])

                def run(lim: int | None) -> None:
                    while not stop[k].is_set() and (lim is None or read[k] < lim):
                        ok, img = cap.read()      # type: ignore[attr-defined]
                        if not ok:
                            break
                        t = time.perf_counter()
                        d = det(img)              # type: ignore[operator]
                        queues[k].put((img.shape, d, time.perf_counter() - t, None))
                        read[k] += 1
                run(limit)
                queues[k].put(done)
                if k < last:
                    decided[k].wait()
                    if extend[k]:                 # the next chunk tracked someone else: go on warm
                        run(None if max_frames is None else max_frames - start)
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            failure[k] = e
        finally:
            if cap is not None:
                cap.release()                     # type: ignore[attr-defined]
            queues[k].put(done)

    threads = [threading.Thread(target=work, args=(k, s, e), daemon=True, name=f"structpose-detect-{k}")
               for k, (s, e) in enumerate(bounds)]
    for th in threads:
        th.start()

    head: list[object] = [None] * len(bounds)     # an item already taken off a chunk's queue

    def drain(k: int) -> Iterator[tuple]:
        if head[k] is not None:
            item, head[k] = head[k], None
            yield item                           # type: ignore[misc]
        while True:
            item = queues[k].get()
            if item is done:
                return
            yield item

    try:
        prev = None
        k = 0
        while k <= last:
            for item in drain(k):
                prev = item
                yield item
            if failure[k] is not None:
                raise failure[k]                 # type: ignore[misc]
            if k == last:
                break
            if read[k] < bounds[k][1] - bounds[k][0]:
                # the file ended inside this chunk (its header's frame count was too large): later
                # chunks start past the end; nothing is lost
                for j in range(k + 1, last + 1):
                    stop[j].set()
                decided[k].set()
                break
            first = queues[k + 1].get()
            if first is done and failure[k + 1] is not None:
                raise failure[k + 1]             # type: ignore[misc]
            if first is not done and (prev is None or same_person(prev[1], first[1])):
                decided[k].set()
                head[k + 1] = first
                k += 1
                continue
            # another person (or nothing) at the next chunk's start: this chunk's graph goes on
            for j in range(k + 1, last + 1):
                stop[j].set()
            extend[k] = True
            decided[k].set()
            if stats is not None:
                stats["identity_fallback"] = bounds[k + 1][0]
            for item in drain(k):
                yield item
            if failure[k] is not None:
                raise failure[k]                 # type: ignore[misc]
            break
    finally:
        for k in range(len(bounds)):
            stop[k].set()
            decided[k].set()
        for th in threads:
            th.join()

