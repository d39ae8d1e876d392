"""`structpose video` on real footage, end to end INCLUDING start-up, side by side in one run: the old torch
path (``STRUCTPOSE_INFERENCE=torch``), NumPy inference (.npz, torch never imported) with one MediaPipe graph,
and NumPy with MediaPipe on two cores (``STRUCTPOSE_DETECT_WORKERS=2``, :mod:`structpose.pipeline.parallel_detect`;
its "detect" column sums both graphs' per-frame times, so it is CPU time, not wall time).

Videos: Sports2D's demo.mp4 (1768x994, 230 frames, 30 fps), one Pose2Sim view (1080x1920 portrait,
100 frames, 60 fps), both read out of their wheels (:mod:`structpose.data.realvideo`), and a 720p copy of
the Sports2D clip made here (cv2 resize, mp4v).  Each run is a fresh process (`python -m structpose
video ...`), so start-up (imports, model loading, MediaPipe's graph) is in the wall time; the stage
times per frame are the command's own report.  Then the online 3D part alone (lift + TP-Net + fit
per frame, on the clip's real MediaPipe keypoints): torch, the NumPy lifter's batched path fed one frame,
and the one-frame path (``PoseLifter._one``), and start-up alone.

``python -m benchmarks speed`` (about 3 minutes on a loaded 2-core machine).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_LINE = re.compile(r"(\d+) frames in ([\d.]+) s .*detect ([\d.]+) ms, lift ([\d.]+) ms, temporal\+fit ([\d.]+) ms, "
                   r"world ([\d.]+) ms, waiting for decode ([\d.]+) ms")


#: (inference backend, MediaPipe graphs) per row: the old torch path, NumPy with one graph, NumPy with MediaPipe on
#: two cores (``pipeline.parallel_detect``: contiguous chunks, one tracking graph each)
PATHS = (("torch", 1), ("numpy", 1), ("numpy", 2))


def _env(backend: str, workers: int | None = None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "STRUCTPOSE_INFERENCE": backend}
    if workers is not None:
        env["STRUCTPOSE_DETECT_WORKERS"] = str(workers)
    return env


def make_720p(src: Path, dst: Path) -> Path:
    import cv2
    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS)
    out = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*"mp4v"), fps, (1280, 720))
    while True:
        ok, img = cap.read()
        if not ok:
            break
        out.write(cv2.resize(img, (1280, 720), interpolation=cv2.INTER_AREA))
    out.release()
    return dst


def run_video(video: Path, out: Path, backend: str, mode: str, workers: int | None = None) -> dict[str, float]:
    t = time.perf_counter()
    r = subprocess.run(check=False, args=[sys.executable, "-m", "structpose", "video", str(video), "--out", str(out), "--no-progress",
                        "--mode", mode], capture_output=True, text=True, env=_env(backend, workers))
    total = time.perf_counter() - t
    if r.returncode:
        raise RuntimeError(r.stderr[-2000:])
    m = _LINE.search(r.stderr)
    if m is None:
        raise RuntimeError(f"no timing line in: {r.stderr[-1000:]}")
    n, wall, det, lift, temp, world, dec = (float(g) for g in m.groups())
    return {"frames": n, "total": total, "chain": wall, "startup": total - wall, "fps": n / total,
            "fps_chain": n / wall, "detect": det, "lift": lift, "temporal": temp, "world": world, "decode_wait": dec}


_STARTUP = """
import sys, time
t = time.perf_counter()
from structpose.cli import build_parser
from structpose.pipeline.lifting import PoseLifter
from structpose.pipeline.refiner import OnlineRefiner
from structpose.pipeline.detector import PoseDetector
build_parser()
L = PoseLifter(); R = OnlineRefiner(fps=30.0, fit=True)
t1 = time.perf_counter()
with PoseDetector(video=True):
    pass
t2 = time.perf_counter()
print(t1 - t, t2 - t1, "torch" in sys.modules)
"""

_ONLINE = """
import os, sys, time
import numpy as np
from structpose.cli._threads import single_threaded
from structpose.io.posefile import load_pose_file
from structpose.pipeline.lifting import PoseLifter
from structpose.pipeline.refiner import OnlineRefiner
seq = load_pose_file(sys.argv[1])
kp, sc, size = seq.poses_2d, seq.scores, seq.image_size
chains = {}
for b in ("torch", "numpy"):
    os.environ["STRUCTPOSE_INFERENCE"] = b      # read when the lifter / refiner are built
    chains[b] = (PoseLifter(), OnlineRefiner(fps=seq.fps, fit=True))
chains["numpy-batched"] = chains["numpy"]        # the NumPy lifter's batched path with N = 1 (before the one-frame path)
single_threaded()
best = {b: [1e9, 1e9] for b in chains}
for rep in range(7):                             # interleaved, best pass of each: robust to other jobs' load
    for b, (L, R) in chains.items():
        R.reset()
        tl = tr = 0.0
        for i in range(len(kp)):
            t0 = time.perf_counter()
            cam = L(kp[i:i + 1], sc[i:i + 1], size)[0][0] if b == "numpy-batched" else L(kp[i], sc[i], size)[0]
            t1 = time.perf_counter()
            R.push(cam); t2 = time.perf_counter()
            tl += t1 - t0; tr += t2 - t1
        if rep:
            best[b] = [min(best[b][0], tl), min(best[b][1], tr)]
print(*(1000 * v / len(kp) for b in ("torch", "numpy-batched", "numpy") for v in best[b]))
"""


def _py(code: str, *args: str, backend: str, last: int = 3) -> list[float]:
    r = subprocess.run([sys.executable, "-c", code, *args], check=False, capture_output=True, text=True, env=_env(backend))
    if r.returncode:
        raise RuntimeError(r.stderr[-2000:])
    return [float(x) if x not in ("True", "False") else float(x == "True") for x in r.stdout.split()[-last:]]


def main() -> None:
    from structpose.data.realvideo import pose2sim_demo, sports2d_demo
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        s2d = sports2d_demo()
        videos = [("Sports2D demo 1768x994", s2d), ("Sports2D demo, 1280x720 copy", make_720p(s2d, tmp / "s2d720.mp4")),
                  ("Pose2Sim cam01 1080x1920", pose2sim_demo().videos[0])]
        print(f"load average at start {load0[0]:.1f} / {load0[1]:.1f} / {load0[2]:.1f} on {os.cpu_count()} cores "
              "(the machine is shared: other jobs run)")
        print("\nstart-up alone (fresh process: imports + lifter + TP-Net; then MediaPipe's graph):")
        for backend in ("torch", "numpy"):
            s = [_py(_STARTUP, backend=backend) for _ in range(2)]
            best = min(s, key=lambda r: r[0] + r[1])
            print(f"  {backend:6s} imports+models {best[0]:5.2f} s, MediaPipe import + graph {best[1]:5.2f} s, "
                  f"torch imported: {bool(best[2])}")
        print(f"\n{'video':32s} {'mode':13s} {'path':8s} {'frames':>6s} {'total s':>8s} {'start s':>8s} "
              f"{'FPS e2e':>8s} {'FPS chain':>9s} {'detect':>7s} {'lift':>6s} {'tp+fit':>6s} {'world':>6s}")
        pose_files = {}
        for name, video in videos:
            for mode in ("online", "bidirectional"):
                rows = {}
                for backend, workers in PATHS:
                    out = tmp / f"{video.stem}_{mode}_{backend}_{workers}.npz"
                    rows[backend, workers] = r = run_video(video, out, backend, mode, workers)
                    pose_files.setdefault(name, out)
                    label = f"{backend}/{workers}mp"
                    print(f"{name:32s} {mode:13s} {label:8s} {int(r['frames']):6d} {r['total']:8.2f} "
                          f"{r['startup']:8.2f} {r['fps']:8.1f} {r['fps_chain']:9.1f} {r['detect']:7.1f} "
                          f"{r['lift']:6.2f} {r['temporal']:6.2f} {r['world']:6.2f}", flush=True)
                one, two, old = rows["numpy", 1], rows["numpy", 2], rows["torch", 1]
                print(f"{'':32s} {'':13s} end-to-end FPS: numpy/torch x{one['fps'] / old['fps']:.2f}, two MediaPipe "
                      f"graphs / one x{two['fps'] / one['fps']:.2f}; 60 FPS would need {one['frames'] / 60:.2f} s in all")
        print("\nonline 3D part alone, per frame on the clip's real MediaPipe keypoints (lift | TP-Net + fit), ms, best "
              "of 6 interleaved passes; 'batched' = the NumPy lifter's batched path with one frame (before the one-frame "
              "path):")
        for name, pf in pose_files.items():
            v = _py(_ONLINE, str(pf), backend="numpy", last=6)
            t, b, n = v[:2], v[2:4], v[4:]
            print(f"  {name:32s} torch {t[0]:.3f} | {t[1]:.3f} = {sum(t):.3f}   numpy batched {b[0]:.3f} | {b[1]:.3f} = "
                  f"{sum(b):.3f}   numpy one-frame {n[0]:.3f} | {n[1]:.3f} = {sum(n):.3f}   "
                  f"({sum(b) / sum(n):.2f} x faster than batched)", flush=True)
    load1 = os.getloadavg()
    print(f"\nload average at end {load1[0]:.1f} / {load1[1]:.1f} / {load1[2]:.1f}")


if __name__ == "__main__":
    main()
