"""`structpose video` on real footage, end to end INCLUDING start-up: NumPy inference (.npz, torch never
imported) vs the old torch path (``STRUCTPOSE_INFERENCE=torch``), side by side in one run.

Videos: Sports2D's demo.mp4 (1768x994, 230 frames, 30 fps), one Pose2Sim view (1080x1920 portrait,
100 frames, 60 fps), both read out of their wheels (:mod:`structpose.data.realvideo`), and a 720p copy of
the Sports2D clip made here (cv2 resize, mp4v).  Each run is a fresh process (`python -m structpose
video ...`), so start-up (imports, model loading, MediaPipe's graph) is in the wall time; the stage
times per frame are the command's own report.  Then the online 3D part alone (lift + TP-Net + fit
per frame, on the clip's real MediaPipe keypoints) in both backends, and start-up alone.

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


def _env(backend: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "STRUCTPOSE_INFERENCE": backend}
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


def run_video(video: Path, out: Path, backend: str, mode: str) -> dict[str, float]:
    t = time.perf_counter()
    r = subprocess.run(check=False, args=[sys.executable, "-m", "structpose", "video", str(video), "--out", str(out), "--no-progress",
                        "--mode", mode], capture_output=True, text=True, env=_env(backend))
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
single_threaded()
best = {b: [1e9, 1e9] for b in chains}
for rep in range(7):                             # interleaved, best pass of each: robust to other jobs' load
    for b, (L, R) in chains.items():
        R.reset()
        tl = tr = 0.0
        for i in range(len(kp)):
            t0 = time.perf_counter(); cam, _ = L(kp[i], sc[i], size); t1 = time.perf_counter()
            R.push(cam); t2 = time.perf_counter()
            tl += t1 - t0; tr += t2 - t1
        if rep:
            best[b] = [min(best[b][0], tl), min(best[b][1], tr)]
print(*(1000 * v / len(kp) for b in ("torch", "numpy") for v in best[b]))
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
        print(f"\n{'video':32s} {'mode':13s} {'path':6s} {'frames':>6s} {'total s':>8s} {'start s':>8s} "
              f"{'FPS e2e':>8s} {'FPS chain':>9s} {'detect':>7s} {'lift':>6s} {'tp+fit':>6s} {'world':>6s}")
        pose_files = {}
        for name, video in videos:
            for mode in ("online", "bidirectional"):
                rows = {}
                for backend in ("torch", "numpy"):
                    out = tmp / f"{video.stem}_{mode}_{backend}.npz"
                    rows[backend] = r = run_video(video, out, backend, mode)
                    pose_files.setdefault(name, out)
                    print(f"{name:32s} {mode:13s} {backend:6s} {int(r['frames']):6d} {r['total']:8.2f} "
                          f"{r['startup']:8.2f} {r['fps']:8.1f} {r['fps_chain']:9.1f} {r['detect']:7.1f} "
                          f"{r['lift']:6.2f} {r['temporal']:6.2f} {r['world']:6.2f}")
                print(f"{'':32s} {'':13s} numpy/torch: end-to-end FPS x{rows['numpy']['fps'] / rows['torch']['fps']:.2f}, "
                      f"start-up {rows['numpy']['startup'] - rows['torch']['startup']:+.2f} s; "
                      f"60 FPS would need {rows['numpy']['frames'] / 60:.2f} s in all")
        print("\nonline 3D part alone, per frame on the clip's real MediaPipe keypoints (lift | TP-Net + fit), ms, best "
              "of 6 interleaved passes (the torch path's lift already used its NumPy twin for single frames):")
        for name, pf in pose_files.items():
            v = _py(_ONLINE, str(pf), backend="numpy", last=4)
            t, n = v[:2], v[2:]
            print(f"  {name:32s} torch {t[0]:.3f} | {t[1]:.3f} = {sum(t):.3f}   numpy {n[0]:.3f} | {n[1]:.3f} = "
                  f"{sum(n):.3f}   ({sum(t) / sum(n):.2f} x faster)")
    load1 = os.getloadavg()
    print(f"\nload average at end {load1[0]:.1f} / {load1[1]:.1f} / {load1[2]:.1f}")


if __name__ == "__main__":
    main()
