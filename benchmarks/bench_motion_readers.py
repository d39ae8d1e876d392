"""The motion readers on every fetched file: how many convert, and two independent cross-checks.

1. Every file of each fetched source (structpose.data.motion_sources) read without a hand mapping:
   files, converted, frames, seconds, units / up axis / head top as detected.
2. CMU clip 01_01 as AMC (cyun9601/CMU-MOCAP-Data) against the same clip as BVH (Debian
   assimp-testmodels 01_01.bvh, cgspeed's conversion): the BVH has one extra first frame (a T-pose),
   and the conversion drops ASF's ``thorax`` bone (its Neck sits at the end of ``upperback``, where
   the shoulders hang too).  Legs are compared as read; the upper body after moving the AMC's
   upper-body joints by the thorax bone's world vector, with the spine on the same point.
3. Forward kinematics against Blender's BVH importer (Debian's blender, headless, the harness of
   structpose.io.blender_check) on real files: every joint at 10 frames.
4. The BVH parser against the ``bvh`` PyPI package (offsets, channels, every channel value) on a
   sample of Bandai files, Boxing_Toes.bvh and 01_01.bvh.

Sources not fetched are reported as such (``structpose data fetch NAME``).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

ASSIMP = Path("/usr/share/assimp/models/BVH")


def convert_all() -> list[tuple]:
    from structpose.data import motion_sources as ms
    from structpose.data.asf_amc import load_amc_with_info
    from structpose.data.bvh import load_bvh_with_info
    from structpose.data.deepmimic import load_clip
    from structpose.errors import StructposeError
    rows = []
    for name in ms.SOURCES:
        files = ms.source_files(name)
        if not files:
            rows.append((name, 0, 0, 0, 0.0, "not fetched: " + ms.fetch_hint(name)))
            continue
        t0 = time.perf_counter()
        ok, frames, kinds, fails = 0, 0, {}, []
        for _clip, path in files:
            try:
                if name == "cmu":
                    c, info = load_amc_with_info(path)
                    kind = info["units"]
                elif name == "deepmimic_repo":
                    c, kind = load_clip(path), "DeepMimic JSON"
                else:
                    c, info = load_bvh_with_info(path)
                    kind = (f"{info['units']}, up {info['up_axis']} from {info['up_from']}"
                            f"{', head top derived' if info['synthesised'] else ''}"
                            f"{', extra frames ignored' if info['ignored_extra_frames'] else ''}")
            except StructposeError as e:
                fails.append(str(e))
                continue
            ok += 1
            frames += c.num_frames
            kinds[kind] = kinds.get(kind, 0) + 1
        note = "; ".join(f"{k}: {v}" for k, v in kinds.items()) + (f"; FAILED e.g. {fails[0]}" if fails else "")
        rows.append((name, len(files), ok, frames, time.perf_counter() - t0, note))
    return rows


def amc_vs_bvh() -> dict[str, float] | None:
    from structpose.data import motion_sources as ms
    from structpose.data.asf_amc import (
        amc_forward_kinematics,
        asf_for,
        load_amc_with_info,
        parse_amc,
        read_asf,
    )
    from structpose.data.bvh import load_bvh_with_info
    amc = ms.motion_dir("cmu") / "data/CMU/asfamc/subjects/01/01_01.amc"
    bvh = ASSIMP / "01_01.bvh"
    if not amc.exists() or not bvh.exists():
        return None
    a, _ = load_amc_with_info(amc, mapping={"spine": "lowerback"})
    b, _ = load_bvh_with_info(bvh)
    skel = read_asf(asf_for(amc))
    pos = amc_forward_kinematics(skel, parse_amc(amc.read_text(), skel)) * skel.metres_per_unit
    thorax_bone = pos[:, skel.names.index("thorax")] - pos[:, skel.names.index("upperback")]
    A, B = a.world, b.world[1:]
    legs = np.linalg.norm(A[:, :7] - B[:, :7], axis=-1)
    raw_upper = np.linalg.norm(A[:, 8:] - B[:, 8:], axis=-1)
    up = A[:, 8:] - thorax_bone[:, None]
    upper = np.linalg.norm(up - B[:, 8:], axis=-1)
    spine = np.linalg.norm(A[:, 7] - B[:, 7], axis=-1)
    return {"frames": len(A), "bvh_frames": len(b.world), "legs_mean_mm": 1000 * legs.mean(),
            "legs_max_mm": 1000 * legs.max(), "upper_raw_mean_mm": 1000 * raw_upper.mean(),
            "thorax_bone_mm": 1000 * float(np.linalg.norm(thorax_bone, axis=-1).mean()),
            "upper_compensated_mean_mm": 1000 * upper.mean(), "upper_compensated_max_mm": 1000 * upper.max(),
            "spine_mean_mm": 1000 * spine.mean()}


def blender_fk(frames: int = 10) -> list[tuple[str, int, float]]:
    import json
    import shutil
    import subprocess
    import tempfile
    from importlib import resources

    from structpose.data import motion_sources as ms
    from structpose.data.bvh import bvh_forward_kinematics, read_bvh
    if shutil.which("blender") is None:
        return []
    files = [p for n, p in ms.source_files("bandai") if n.endswith(("kick_normal_001", "dataset-2_run_active_001"))]
    files += [p for p in (ASSIMP / "Boxing_Toes.bvh", ASSIMP / "01_01.bvh") if p.exists()]
    harness = resources.files("structpose").joinpath("assets", "blender_readback.py")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        jobs = [{"kind": "bvh", "file": str(f), "out": f"{tmp}/{i}.json", "first": 1, "last": frames, "scale": 1.0}
                for i, f in enumerate(files)]
        Path(tmp, "jobs.json").write_text(json.dumps({"fps": 30, "jobs": jobs}))
        subprocess.run(["blender", "-b", "--factory-startup", "--python", str(harness), "--", f"{tmp}/jobs.json"],
                       capture_output=True, timeout=1800, check=True)
        for f, j in zip(files, jobs):
            got = json.loads(Path(j["out"]).read_text())["frames"]
            data = read_bvh(f)
            ours = bvh_forward_kinematics(data)
            errs = [np.linalg.norm(np.array([ours[t, data.names.index(n)][0], -ours[t, data.names.index(n)][2],
                                             ours[t, data.names.index(n)][1]]) - h)
                    for t in range(frames) for n, (h, _tail) in got[str(t + 1)].items()]
            rows.append((f.name, len(errs), float(np.max(errs))))
    return rows


def pypi_bvh(n_bandai: int = 5) -> tuple[int, int, float]:
    import bvh as pypi

    from structpose.data import motion_sources as ms
    from structpose.data.bvh import read_bvh
    files = [p for _, p in ms.source_files("bandai")]
    files = [files[i] for i in np.linspace(0, len(files) - 1, min(n_bandai, len(files))).astype(int)] if files else []
    files += [p for p in (ASSIMP / "Boxing_Toes.bvh", ASSIMP / "01_01.bvh") if p.exists()]
    agree, worst = 0, 0.0
    for p in files:
        ours, ref = read_bvh(p), pypi.Bvh(p.read_text())
        same = ours.num_frames <= ref.nframes            # the package keeps surplus rows (Boxing_Toes)
        for j, name in enumerate(ours.names):
            if ours.is_end_site[j]:
                continue
            same &= bool(np.allclose(ours.offsets[j], ref.joint_offset(name)))
            same &= list(ours.channels[j]) == ref.joint_channels(name)
            vals = np.array(ref.frames_joint_channels(name, ref.joint_channels(name)), float)[:ours.num_frames]
            worst = max(worst, float(np.abs(ours.channel_values(j) - vals).max()))
        agree += int(same)
    return len(files), agree, worst


def main() -> None:
    print(f"{'source':16s} {'files':>6s} {'read':>6s} {'frames':>8s} {'seconds':>8s}  detected")
    total = 0
    for name, n, ok, frames, sec, note in convert_all():
        total += frames
        print(f"{name:16s} {n:6d} {ok:6d} {frames:8d} {sec:8.1f}  {note}")
    print(f"total frames read: {total}")
    r = amc_vs_bvh()
    if r is None:
        print("\nAMC vs BVH (01_01): needs `structpose data fetch cmu` and Debian's assimp-testmodels")
    else:
        print(f"\nCMU 01_01, AMC ({r['frames']} frames) vs BVH ({r['bvh_frames']} frames, first is a T-pose):")
        print(f"  hips, knees, ankles, pelvis as read: mean {r['legs_mean_mm']:.3f} mm, max {r['legs_max_mm']:.3f} mm")
        print(f"  upper body as read: mean {r['upper_raw_mean_mm']:.1f} mm (the BVH drops ASF's thorax bone, "
              f"mean length {r['thorax_bone_mm']:.1f} mm)")
        print(f"  upper body moved by that bone: mean {r['upper_compensated_mean_mm']:.3f} mm, max "
              f"{r['upper_compensated_max_mm']:.3f} mm; spine (lowerback end = BVH Spine) {r['spine_mean_mm']:.3f} mm")
    for name, n, worst in blender_fk():
        print(f"\nforward kinematics vs Blender's BVH importer, {name}: {n} joint positions, largest difference "
              f"{worst:.2e} file units")
    n, agree, worst = pypi_bvh()
    print(f"\nBVH parser vs the `bvh` package: {agree} / {n} files agree on offsets and channels; "
          f"largest channel value difference {worst:.2e}")


if __name__ == "__main__":
    main()
