"""MediaPipe on two cores (``structpose.pipeline.parallel_detect``) against one tracking graph, side by side:
what the change does to the detector's output and to accuracy (``python -m benchmarks detect_parallel``).

* Real pixels (Pose2Sim Demo_SinglePerson, 4 calibrated views x 100 frames): the reference is triangulated
  from the one-graph tracks exactly as in ``benchmarks/bench_real.py``; each system's per-view MPJPE /
  PA-MPJPE / MPJVE (mm) on the frames every run has, with the one-graph and the two-graph tracks.
* In the wild (Sports2D demo, 2 people; opencv-doc vtest.avi first 300 frames; the Pose2Sim views):
  frames whose 2D keypoints differ by more than 2 px, and the structural table's jitter / bone std
  (``analysis.real_pixels.structural``) for MediaPipe's world landmarks and structpose.
* Detection wall time of the two, in the same process, and the load average.
"""
from __future__ import annotations

import os
import time

import numpy as np

SYSTEMS = ("mediapipe_world", "video_online", "video_bidirectional")


def chunked_track(video, workers: int = 2, max_frames: int | None = None):
    """A :class:`~structpose.analysis.tracks.Track` of ``video`` detected by ``parallel_detect`` (wall s, stats)."""
    from structpose.analysis.tracks import Track
    from structpose.pipeline.detector import PoseDetector
    from structpose.pipeline.parallel_detect import detect_chunks
    from structpose.pipeline.video import open_source
    cap, info = open_source(str(video))
    cap.release()                                         # type: ignore[attr-defined]
    stats: dict = {}
    rows: dict[str, list] = {k: [] for k in ("keypoints", "scores", "landmarks33", "visibility33", "world33", "found")}
    size = (info["width"], info["height"])
    t = time.perf_counter()
    for shape, d, _, _ in detect_chunks(str(video), info["frames"], lambda: PoseDetector(video=True), workers,
                                        max_frames, stats=stats):
        size = (shape[1], shape[0])
        rows["keypoints"].append(d.keypoints)
        rows["scores"].append(d.scores)
        rows["found"].append(d.found)
        rows["landmarks33"].append(d.landmarks33 if d.found else np.full((33, 2), np.nan, np.float32))
        rows["visibility33"].append(d.visibility33 if d.found else np.zeros(33, np.float32))
        rows["world33"].append(d.world33 if d.world33 is not None else np.full((33, 3), np.nan, np.float32))
    wall = time.perf_counter() - t
    tr = Track(keypoints=np.stack(rows["keypoints"]), scores=np.stack(rows["scores"]),
               landmarks33=np.stack(rows["landmarks33"]), visibility33=np.stack(rows["visibility33"]),
               world33=np.stack(rows["world33"]), found=np.array(rows["found"], bool), fps=info["fps"], image_size=size)
    return tr, wall, stats


def one_graph_track(video, max_frames: int | None = None):
    from structpose.analysis.tracks import detect_video
    t = time.perf_counter()
    tr = detect_video(video, "video", None, max_frames=max_frames)
    return tr, time.perf_counter() - t


def _differ(a, b, px: float = 2.0) -> str:
    d = np.linalg.norm(a.keypoints - b.keypoints, axis=-1).max(-1)
    both = a.found & b.found
    return (f"{int((d[both] > px).sum())} / {len(d)} frames differ by > {px:g} px (max {np.nanmax(d[both]):.0f} px), "
            f"person found {int(a.found.sum())} / {int(b.found.sum())}")


def main() -> None:
    from structpose.analysis import real_pixels as rp
    from structpose.analysis.tracks import detect_video
    from structpose.cli._threads import single_threaded
    from structpose.data.formats.qualisys import read_qualisys
    from structpose.data.holosoma import data_dir
    from structpose.data.realvideo import pose2sim_demo, sports2d_demo, vtest

    from .bench_real import INLIER_PX
    single_threaded()
    cache = data_dir() / "real" / "cache"
    print(f"load average at start {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    demo = pose2sim_demo()
    names = list(demo.names)
    cams = rp.cameras_for(read_qualisys(demo.calibration), names)
    seq = [detect_video(v, "video", cache) for v in demo.videos]           # one graph (cached, as bench_real)
    img = [detect_video(v, "image", cache) for v in demo.videos]
    par = [chunked_track(v)[0] for v in demo.videos]
    ref, _ = rp.triangulated_reference(seq, cams, inlier_px=INLIER_PX)
    ref_cam = [c.world_to_camera(ref) for c in cams]
    preds = {(s, k): [rp.SYSTEMS[s].run(rp.ViewInput(t, i)) for t, i in zip(tracks, img)]
             for s in SYSTEMS for k, tracks in (("one graph", seq), ("two graphs", par))}
    common = np.isfinite(rp.compared(ref)).all((1, 2))
    for p in preds.values():
        for q in p:
            common &= np.isfinite(rp.compared(q)).all((1, 2))
    print(f"\n## Real pixels (Pose2Sim, {len(names)} views, {int(common.sum())} common frames; reference from the "
          "one-graph tracks)\n")
    print("| system | detector | MPJPE | PA-MPJPE | MPJVE |\n|---|---|---|---|---|")
    for (s, k), per_view in preds.items():
        r = [rp.evaluate_view(p, rc, common) for p, rc in zip(per_view, ref_cam)]
        m = {x: float(np.mean([v[x] for v in r])) for x in ("mpjpe", "pa_mpjpe", "mpjve")}
        print(f"| {rp.SYSTEMS[s].label} | {k} | {m['mpjpe']:.1f} | {m['pa_mpjpe']:.1f} | {m['mpjve']:.1f} |")
    print("\n2D against one graph: " + "; ".join(f"{n}: {_differ(a, b)}" for n, a, b in zip(names, seq, par)))

    print("\n## In the wild: structure (% of mean limb length) and detection time\n")
    print("| video | detector | frames differing | detect wall s | FPS | system | bone std % | jitter % |\n"
          "|---|---|---|---|---|---|---|---|")
    wild = [("Sports2D demo (2 people)", sports2d_demo(), None), ("vtest.avi, 300 frames", vtest(), 300)]
    wild += [(f"Pose2Sim {n}", v, None) for n, v in zip(names, demo.videos)]
    for label, path, n in wild:
        a, ta = one_graph_track(path, n)
        b, tb, st = chunked_track(path, max_frames=n)
        note = "" if st.get("identity_fallback") is None else f" (identity check failed at {st['identity_fallback']})"
        for k, tr, t in (("one graph", a, ta), (f"two graphs, {st['chunks']} chunks{note}", b, tb)):
            for s in ("mediapipe_world", "video_bidirectional"):
                x = rp.structural(rp.SYSTEMS[s].run(rp.ViewInput(tr, tr)), tr.found)
                print(f"| {label} | {k} | {_differ(a, tr)} | {t:.2f} | {len(tr) / t:.0f} | {rp.SYSTEMS[s].label} | "
                      f"{x['bone_std']:.1f} | {x['jitter']:.1f} |", flush=True)
    print(f"\nload average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
