"""End-to-end `structpose video` speed on a 640x480 still-photo video, where the time goes, and
memory vs video length.

The video is built from real photos (opencv-doc's basketball1, basketball2, messi5, letterboxed to
640x480, each held for a third of the frames): a *still-photo video*, so MediaPipe's tracker has an
easy time between the two cuts.  Real footage with motion costs more re-detections.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path("/usr/share/doc/opencv-doc/examples/data")
PHOTOS = ("basketball1.png", "basketball2.png", "messi5.jpg")


def still_video(path: Path, n: int, fps: float = 30.0) -> Path:
    """``n`` frames (a multiple of 3): each photo held for a third of them."""
    from ._helpers import write_still_video
    if n % len(PHOTOS):
        raise ValueError(f"{n} frames; expected a multiple of {len(PHOTOS)} (one equal run per photo)")
    return write_still_video(path, [DATA / p for p in PHOTOS], n // len(PHOTOS), fps=fps)


def detector_only(video: Path, n: int = 90) -> dict[str, float]:
    """MediaPipe per frame (ms): every frame on its own vs tracking from frame to frame."""
    import cv2

    from structpose.pipeline.detector import PoseDetector
    cap = cv2.VideoCapture(str(video))
    imgs = [cap.read()[1] for _ in range(n)]
    out = {}
    for name, video_mode in (("static", False), ("tracking", True)):
        with PoseDetector(video=video_mode) as d:
            d(imgs[0])
            t = time.perf_counter()
            for im in imgs:
                d(im)
            out[name] = 1000 * (time.perf_counter() - t) / n
    t = time.perf_counter()
    cap = cv2.VideoCapture(str(video))
    for _ in range(n):
        cap.read()
    out["decode"] = 1000 * (time.perf_counter() - t) / n
    return out


def end_to_end(video: Path, render: Path | None = None) -> tuple[float, dict[str, float]]:
    from structpose.cli._threads import single_threaded
    from structpose.pipeline.render_video import VideoWriter, compose
    from structpose.pipeline.video import process_video
    single_threaded()
    on_frame, writer = None, None
    if render is not None:
        writer = VideoWriter(render, 30.0)

        def on_frame(i, img, det, pose):
            p = pose if det.found else None
            writer.submit(lambda: compose(img, det.keypoints, det.scores, p))
    t = time.perf_counter()
    seq, tm = process_video(str(video), mode="online", fit=True, progress=False, on_frame=on_frame)
    if writer is not None:
        writer.close()
    wall = time.perf_counter() - t
    from structpose.io.posefile import save_pose_file
    save_pose_file(video.with_suffix(".npz"), seq)
    return seq.num_frames / wall, tm.per_frame_ms()


_RSS = """
import resource, sys
from structpose.cli._threads import single_threaded
from structpose.pipeline.video import process_video
single_threaded()
seq, tm = process_video(sys.argv[1], mode="online", progress=False)
print(seq.num_frames, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def memory(tmp: Path, lengths=(150, 600, 1200)) -> list[tuple[int, float]]:
    rows = []
    for n in lengths:
        v = still_video(tmp / f"mem_{n}.mp4", n)
        r = subprocess.run([sys.executable, "-c", _RSS, str(v)], capture_output=True, text=True, check=True)
        frames, mb = r.stdout.split()[-2:]
        rows.append((int(frames), float(mb)))
    return rows


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        video = still_video(tmp / "still.mp4", 300)
        load = os.getloadavg()[0]
        det = detector_only(video)
        fps, ms = end_to_end(video)
        fps_r, _ms_r = end_to_end(video, render=tmp / "r.mp4")
        print(f"640x480 still-photo video, 300 frames, online mode + fit; load average {load:.1f} on "
              f"{os.cpu_count()} cores (the machine is shared)")
        print(f"{'stage (per frame)':38s} {'ms':>8s}")
        print(f"{'decode (cv2, alone)':38s} {det['decode']:8.2f}")
        print(f"{'MediaPipe, every frame on its own':38s} {det['static']:8.2f}")
        print(f"{'MediaPipe, tracking (what video uses)':38s} {det['tracking']:8.2f}   "
              f"({det['static'] / det['tracking']:.2f} x faster)")
        print("in the pipeline (decode and the 3D stage run in their own threads):")
        for k in ("decode_wait", "detect", "lift", "temporal", "write"):
            print(f"  {k:36s} {ms[k]:8.2f}")
        three_d = ms["lift"] + ms["temporal"] + ms["write"]
        print(f"  {'lift + TP-Net + fit (3D stage)':36s} {three_d:8.2f}   ({three_d / 2.0:.2f} x the 2 ms budget)")
        print(f"  {'wall per frame':36s} {ms['wall']:8.2f}   (sum of stages "
              f"{sum(ms[k] for k in ('decode_wait', 'detect', 'lift', 'temporal', 'write')):.2f}: "
              "overlap hides the 3D stage)")
        print(f"end to end: {fps:.1f} FPS without render, {fps_r:.1f} FPS with --render "
              f"(target 30 FPS: {fps / 30:.2f} x)")
        print("\npeak RSS vs video length (separate processes, online mode):")
        rows = memory(tmp)
        for n, mb in rows:
            print(f"  {n:6d} frames  {mb:8.1f} MB  ({mb / rows[0][1]:.3f} x the shortest)")


if __name__ == "__main__":
    main()
