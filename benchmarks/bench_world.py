"""World frame, path and planted feet on held-out real motion (``python -m benchmarks world``).

Every test-split clip (``structpose.data.splits``: DeepMimic cartwheel, dance_b, punch, walker_turn_right1,
holosoma climb_seq_4; 30 fps) is seen by ``CAMS`` virtual cameras (``cameras.sample_virtual_camera``) with
the training's detector-like 2D noise, lifted by the shipped lifter (true focal length given, as the issue
measured) and TP-Net (online / bidirectional, skeleton fitted), then put in the world frame
(``structpose.world.to_world``, default height prior 1.70 m).  Truth from the mocap (Y up, floor y = 0):

* a foot is **in contact** where its ankle is within 3 cm of that ankle's lowest height in the clip and moves
  slower than 0.15 m/s horizontally (independent of the detector's thresholds);
* **foot skate**: horizontal speed (cm/frame) of a foot in contact on two consecutive frames, measured in the
  camera frame with the true gravity direction, at the chain's own scale (world poses mapped back by
  ``world_from_camera`` and divided by the scale), before (the chain's camera-frame output) and after;
* **MPJPE** (root-relative, mm) of the same two, against the truth;
* **floor normal error**: angle between the fitted floor normal and the true up direction, degrees;
* **path error**: mean distance (mm) between the world root path and the true one, after aligning the first
  frame (true path turned about Y so the first frame faces +Z, both started at x = z = 0; heights kept).

Then real video (Sports2D's demo.mp4 if in the data folder): floor fit and the skate of detected contacts,
and the time of each stage of ``structpose video``.  The tables go into ``docs/world.md`` and the README.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np

CAMS = 3
SEED = 11


def truth_contacts(world: np.ndarray, fps: float) -> np.ndarray:
    """(T, 2) bool from mocap (Y up): ankle within 3 cm of its lowest height and slower than 0.15 m/s."""
    from structpose.contacts import ANKLES
    a = world[:, list(ANKLES)]
    low = a[..., 1] < a[..., 1].min(0) + 0.03
    v = np.zeros(low.shape)
    st = np.linalg.norm(np.diff(a[..., [0, 2]], axis=0), axis=-1) * fps
    v[1:-1] = np.maximum(st[:-1], st[1:])
    v[0], v[-1] = st[0], st[-1]
    return low & (v < 0.15)


def skate_cm(poses_cam: np.ndarray, up: np.ndarray, contact: np.ndarray) -> np.ndarray:
    """Horizontal per-frame motion (cm) of each ankle over pairs of frames both in contact."""
    from structpose.contacts import ANKLES
    a = poses_cam[:, list(ANKLES)].astype(np.float64)
    d = np.diff(a, axis=0)
    d -= (d @ up)[..., None] * up
    both = contact[1:] & contact[:-1]
    s = 100 * np.linalg.norm(d, axis=-1)[both]
    return s[np.isfinite(s)]


def _cases(split: str = "test"):
    import torch

    from structpose.cameras import project_clip, sample_virtual_camera
    from structpose.data.detector_noise import detector_noise
    from structpose.data.sources import load_clips
    from structpose.data.splits import split_clips
    from structpose.train.lifter import LifterTrainConfig
    rng = np.random.default_rng(SEED)
    g = torch.Generator().manual_seed(SEED)
    cfg = LifterTrainConfig()
    out = []
    for c in split_clips(load_clips(("deepmimic", "holosoma"), fps=30.0))[split]:
        for k in range(CAMS):
            cam = sample_virtual_camera(rng, c.world)
            uv, gt = project_clip(c, cam)
            noisy, mask = detector_noise(torch.as_tensor(uv), cfg, g)
            out.append((f"{c.name}#{k}", c, cam, noisy.numpy(), mask.numpy(), gt))
    return out


def _true_path(world: np.ndarray) -> np.ndarray:
    from structpose.cameras import WORLD_UP
    from structpose.world import facing
    f = facing(world[0], WORLD_UP)
    ang = np.arctan2(f[0], f[2])                       # turn about Y by -ang: facing -> +Z
    c, s = np.cos(-ang), np.sin(-ang)
    Ry = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    p = world[:, 0] @ Ry.T
    return p - np.array([p[0, 0], 0, p[0, 2]])


def evaluate(split: str = "test", modes=("online", "bidirectional"), verbose: bool = True) -> dict:
    from structpose.pipeline.lifting import PoseLifter, lift_sequence
    from structpose.world import to_world
    rows: dict = {m: {"skate_before": [], "skate_after": [], "mpjpe_before": [], "mpjpe_after": [],
                      "normal_deg": [], "path_mm": [], "path_ok_mm": [], "found": [], "path_raw_mm": [], "fallback": 0, "n": 0, "t_world": 0.0,
                      "frames": 0, "per_clip": {}} for m in modes}
    for name, clip, cam, uv, mask, gt in _cases(split):
        up = cam.R @ np.array([0.0, 1.0, 0.0])
        tc = truth_contacts(np.asarray(clip.world), clip.fps)
        lifter = PoseLifter(focal_px=float(cam.f[0]))
        for mode in modes:
            r = rows[mode]
            seq = lift_sequence(uv, mask.astype(np.float32), clip.fps, cam.image_size, mode=mode, fit=True,
                                lifter=lifter)
            t0 = time.perf_counter()
            w = to_world(seq.poses_3d, clip.fps, mode=mode)
            r["t_world"] += time.perf_counter() - t0
            r["frames"] += len(gt)
            M = w.world_from_camera.astype(np.float64)
            back = ((w.poses_world.astype(np.float64) - M[:3, 3]) @ M[:3, :3]) / w.scale
            pred = seq.poses_3d.astype(np.float64)
            ok = np.isfinite(pred).all((1, 2))
            rr = lambda p: p - p[:, :1]
            r["mpjpe_before"].append(np.linalg.norm(rr(pred)[ok] - rr(gt)[ok], axis=-1).mean(-1))
            r["mpjpe_after"].append(np.linalg.norm(rr(back)[ok] - rr(gt)[ok], axis=-1).mean(-1))
            sb, sa = skate_cm(pred, up, tc), skate_cm(back, up, tc)
            r["skate_before"].append(sb)
            r["skate_after"].append(sa)
            r["found"].append(w.status == "ok")
            r["n"] += 1
            tp = _true_path(np.asarray(clip.world, np.float64))
            path = w.poses_world[:, 0].astype(np.float64)
            r["path_mm"].append(1000 * np.nanmean(np.linalg.norm(path - tp, axis=-1)))
            raw = cam.camera_to_world(pred[:, 0])           # the chain's root, in the true world
            tw = _true_path(np.concatenate([raw[:, None], np.asarray(clip.world)[:, 1:]], 1))
            r["path_raw_mm"].append(1000 * np.nanmean(np.linalg.norm(tw - tp, axis=-1)))
            if w.status == "ok":
                r["path_ok_mm"].append(r["path_mm"][-1])
                r["normal_deg"].append(np.degrees(np.arccos(np.clip(w.floor[:3] @ up, -1, 1))))
            else:
                r["fallback"] += 1
            if verbose:
                print(f"  {name:34s} {mode:13s} {w.status[:60]:60s} skate {sb.mean() if len(sb) else np.nan:5.2f} -> "
                      f"{sa.mean() if len(sa) else np.nan:5.2f} cm/frame  MPJPE {r['mpjpe_before'][-1].mean() * 1000:6.1f}"
                      f" -> {r['mpjpe_after'][-1].mean() * 1000:6.1f}  path {r['path_mm'][-1]:6.0f} mm"
                      + (f"  normal {r['normal_deg'][-1]:.1f} deg" if w.status == "ok" else ""), flush=True)
    return rows


def summary(rows: dict) -> list[str]:
    lines = [("| mode | foot skate before | after | change | skate where the floor was found | MPJPE before | after | "
              "floor normal error | path error, floor found | all | raw root path | fallbacks | world step |"),
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for mode, r in rows.items():
        sb, sa = np.concatenate(r["skate_before"]), np.concatenate(r["skate_after"])
        mb, ma = np.concatenate(r["mpjpe_before"]), np.concatenate(r["mpjpe_after"])
        nd = np.array(r["normal_deg"])
        f = np.array(r["found"])
        fb = np.concatenate([x for x, k in zip(r["skate_before"], f) if k] or [np.zeros(0)])
        fa = np.concatenate([x for x, k in zip(r["skate_after"], f) if k] or [np.zeros(0)])
        lines.append(
            f"| {mode} | {sb.mean():.2f} cm/frame | {sa.mean():.2f} | {100 * (sa.mean() / sb.mean() - 1):+.0f} % | "
            f"{fb.mean():.2f} -> {fa.mean():.2f} ({100 * (fa.mean() / fb.mean() - 1):+.0f} %) | "
            f"{1000 * mb.mean():.1f} mm | {1000 * ma.mean():.1f} | "
            f"{np.median(nd):.1f} deg median ({nd.mean():.1f} mean, {len(nd)} fits) | "
            f"{np.median(r['path_ok_mm']):.0f} mm median ({np.mean(r['path_ok_mm']):.0f} mean) | "
            f"{np.mean(r['path_mm']):.0f} mm | {np.mean(r['path_raw_mm']):.0f} mm | {r['fallback']}/{r['n']} | "
            f"{1000 * r['t_world'] / r['frames']:.3f} ms/frame |")
    return lines


def _lab_up(calib_path, serial: str) -> tuple[np.ndarray, float]:
    """True up (the lab's +Z) in the OpenCV frame of a calibrated camera, and the camera's height (m),
    from the Qualisys calibration (``data.formats.qualisys``)."""
    from structpose.data.formats.qualisys import read_qualisys
    cam = read_qualisys(calib_path)[serial]
    return cam.R @ np.array([0.0, 0.0, 1.0]), float(cam.center[2])


def _contact_skate(poses_world: np.ndarray, on: np.ndarray) -> float:
    from structpose.contacts import ANKLES
    a = poses_world[:, list(ANKLES)].astype(np.float64)
    d = np.linalg.norm(np.diff(a[..., [0, 2]], axis=0), axis=-1)
    both = on[1:] & on[:-1] & np.isfinite(d)
    return float(100 * d[both].mean()) if both.any() else float("nan")


def real_videos() -> list[str]:
    """`structpose video` (default: offline, world frame) on real footage, timed end to end in a fresh
    process; floor against the lab calibration where there is one; skate of detected contacts."""
    import subprocess
    import tempfile
    from pathlib import Path

    from structpose.contacts import hysteresis
    from structpose.data import realvideo
    from structpose.errors import StructposeError
    from structpose.io.posefile import load_pose_file
    from structpose.world import to_world
    videos = []
    for get in (lambda: list(realvideo.pose2sim_demo().videos), lambda: [realvideo.sports2d_demo()]):
        try:
            videos += get()
        except StructposeError as e:          # the wheel is not in the data folder
            print(f"  skipped: {e}")
    root = "the data folder"
    lines = [("| video | frames | end to end (incl. start-up) | world status | floor RMS | floor normal error "
              "(lab calibration) | camera height (est. / lab) | skate of detected contacts, before / after pinning |"),
             "|---|---|---|---|---|---|---|---|"]
    if not videos:
        return [f"(no real video under {root}: skipped)"]
    tmp = Path(tempfile.mkdtemp())
    for v in videos:
        out = tmp / (v.parent.name + "_" + v.stem + ".npz")
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "structpose", "video", str(v), "--out", str(out), "--no-progress"],
                           capture_output=True, text=True, check=False, env={**os.environ, "OMP_NUM_THREADS": "1"})
        wall = time.perf_counter() - t0
        if r.returncode != 0:
            lines.append(f"| {v.parent.name}/{v.name} | failed: {r.stderr.strip().splitlines()[-1]} |")
            continue
        seq = load_pose_file(out)
        w = seq.meta["world"]
        err = hgt = "-"
        before = after = float("nan")
        if w["status"] == "ok":
            calib = v.parent / "Calib.qca.txt"
            if calib.is_file():
                up, h = _lab_up(calib, v.stem)
                err = f"{np.degrees(np.arccos(np.clip(seq.floor[:3] @ up, -1, 1))):.1f} deg"
                hgt = f"{w['camera_height_m']:.2f} / {h:.2f} m"
            on = hysteresis(seq.contacts)
            raw = to_world(seq.poses_3d, seq.fps, height=w["height_m"], pin=False)
            before, after = _contact_skate(raw.poses_world, on), _contact_skate(seq.poses_world, on)
        rms = f"{100 * w['floor_rms_m']:.1f} cm" if w.get("floor_rms_m") is not None else "-"
        lines.append(f"| {v.parent.name}/{v.name} | {seq.num_frames} | {wall:.1f} s ({seq.num_frames / wall:.1f} FPS) "
                     f"| {w['status']} | {rms} | {err} | {hgt} | {before:.2f} / {after:.2f} cm/frame |")
        print(lines[-1], flush=True)
    return lines


def speed(n: int = 300) -> list[str]:
    """Per-frame cost of each 3D stage on a held-out clip (1 thread), and where the lifter's time goes."""
    import cProfile
    import io
    import pstats

    from structpose.cli._threads import single_threaded
    from structpose.fitting import RunningSkeleton, fit_sequence
    from structpose.pipeline.lifting import PoseLifter
    from structpose.pipeline.refiner import OnlineRefiner, refine_sequence
    from structpose.world import to_world
    single_threaded()
    _, _, cam, uv, _, _ = _cases("test")[9]            # walker_turn_right1, camera 0
    uv = np.concatenate([uv] * (n // len(uv) + 1))[:n]
    sc = np.ones(17, np.float32)
    lifter = PoseLifter(focal_px=float(cam.f[0]))

    def per_frame(fn, k=n):
        t = time.perf_counter()
        fn()
        return 1000 * (time.perf_counter() - t) / k

    lift = lambda: [lifter(uv[i], sc, cam.image_size) for i in range(n)]
    lift()
    poses = np.stack([lifter(uv[i], sc, cam.image_size)[0] for i in range(n)])
    ref, skel = OnlineRefiner(fps=30), RunningSkeleton(300)
    rows = [("lift, 1 frame at a time (NumPy lifter)", per_frame(lift)),
            ("lift, whole clip in one batch (offline modes)",
             per_frame(lambda: lifter(uv, np.ones(uv.shape[:2], np.float32), cam.image_size))),
            ("TP-Net online push", per_frame(lambda: [ref.push(p) for p in poses])),
            ("skeleton fit, running median (online)", per_frame(lambda: [skel(p) for p in poses])),
            ("TP-Net bidirectional, whole clip", per_frame(lambda: refine_sequence(poses, 30, "bidirectional"))),
            ("skeleton fit, clip median (offline)", per_frame(lambda: fit_sequence(poses))),
            ("world frame offline (floor, path, contacts, pinning)", per_frame(lambda: to_world(poses, 30))),
            ("world frame online (causal path, contacts, pinning)",
             per_frame(lambda: to_world(poses, 30, mode="online")))]
    out = [f"| stage (load average {os.getloadavg()[0]:.1f}) | ms / frame |", "|---|---|"]
    out += [f"| {k} | {v:.3f} |" for k, v in rows]
    prof = cProfile.Profile()
    prof.enable()
    lift()
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(10)
    body = [ln for ln in buf.getvalue().splitlines() if ln.strip()]
    start = next(i for i, ln in enumerate(body) if ln.lstrip().startswith("ncalls"))
    out.append("\nlift, 1 frame at a time: where the time goes (cProfile, top 10 by own time)")
    out += ["    " + ln for ln in body[start:start + 11]]
    return out


def main() -> None:
    import torch
    torch.set_num_threads(1)
    split = os.environ.get("STRUCTPOSE_BENCH_SPLIT", "test")
    rows = evaluate(split)
    print("\n".join(summary(rows)))
    print("\n".join(speed()))
    print("\n".join(real_videos()))


if __name__ == "__main__":
    sys.exit(main())
