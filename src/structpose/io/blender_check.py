"""Read exported animations back through real Blender (headless), to check them against the pose file.

:func:`blender_joints` imports each BVH / GLB into Blender (Debian's ``blender``; the harness is
``assets/blender_readback.py``), reads every pose bone's world position per frame (bone heads through
the armature's ``matrix_world``; the BVH head top is the Head bone's tail, the end site) and returns
them as H36M-17 joints in the exports' Y-up frame, metres.  Import settings: BVH from Blender frame 1,
scaled by 1/100 for centimetres (the default export unit); glTF time 0 is Blender frame 0.  Blender's
Z-up world is turned back to Y up: ``(x, y, z)_yup = (x, z, -y)_blender``.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

import numpy as np

from ..errors import StructposeError
from ..skeleton import H36M17
from .bvh_export import BVH_TO_H36M
from .gltf_export import GLB_TO_H36M

_SCALE = {"cm": 0.01, "m": 1.0, "mm": 0.001}


def blender_joints(files: list[str | Path], num_frames: int, fps: float, bvh_units: str = "cm",
                   timeout: float = 600.0) -> list[np.ndarray]:
    """``(num_frames, 17, 3)`` Y-up metres per file (``.bvh`` or ``.glb``), as Blender animates them."""
    blender = shutil.which("blender")
    if blender is None:
        raise StructposeError("blender not found; install Debian's blender (`make setup` does)")
    harness = resources.files("structpose").joinpath("assets", "blender_readback.py")
    with tempfile.TemporaryDirectory() as tmp:
        jobs = []
        for i, f in enumerate(map(Path, files)):
            kind = f.suffix.lower()[1:]
            if kind not in ("bvh", "glb"):
                raise StructposeError(f"{f}: Blender read-back takes .bvh or .glb files")
            first = 1 if kind == "bvh" else 0
            jobs.append({"kind": kind, "file": str(f.resolve()), "out": f"{tmp}/{i}.json", "first": first,
                         "last": first + num_frames - 1, "scale": _SCALE[bvh_units]})
        Path(tmp, "jobs.json").write_text(json.dumps({"fps": fps, "jobs": jobs}))
        r = subprocess.run([blender, "-b", "--factory-startup", "--python", str(harness), "--", f"{tmp}/jobs.json"],
                           capture_output=True, text=True, timeout=timeout, check=False)
        if r.returncode != 0 or not all(Path(j["out"]).is_file() for j in jobs):
            raise StructposeError(f"Blender read-back failed (exit {r.returncode}): {r.stderr.strip()[-500:]}")
        out = []
        for j in jobs:
            d = json.loads(Path(j["out"]).read_text())
            names = BVH_TO_H36M if j["kind"] == "bvh" else GLB_TO_H36M
            got = np.full((num_frames, 17, 3), np.nan)
            for t in range(num_frames):
                bones = d["frames"][str(j["first"] + t)]
                for n, h in names.items():
                    got[t, H36M17.index(h)] = bones[n][0]
                if j["kind"] == "bvh":                   # the BVH's head top is the Head bone's end site
                    got[t, H36M17.index("head_top")] = bones["Head"][1]
            out.append(got[..., [0, 2, 1]] * np.array([1.0, 1.0, -1.0]))
    return out


__all__ = ["blender_joints"]
