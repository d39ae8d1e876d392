"""Run inside Blender (see structpose.io.blender_check): import BVH / GLB files and write every pose bone's
world head and tail per frame as JSON.

    blender -b --factory-startup --python blender_readback.py -- JOBS.json

JOBS.json: ``{"fps": 30, "jobs": [{"kind": "bvh"|"glb", "file": ..., "out": ..., "first": 1, "last": 24,
"scale": 0.01}]}``.  Scene frames ``first..last`` (inclusive) are read; a BVH is imported starting at
``first`` and scaled by ``scale`` (0.01 for centimetres).  Each file is imported into an empty scene.
Positions are Blender world coordinates (Z up), through the armature object's ``matrix_world``.
"""
import builtins
import json
import sys

import bpy
import numpy

with open(sys.argv[sys.argv.index("--") + 1]) as _fh:
    spec = json.load(_fh)
_open = builtins.open


def _open_without_U(file, mode="r", *a, **k):
    # Blender 3.4's BVH importer opens with mode 'rU', which Python 3.11 removed
    return _open(file, mode.replace("U", "") if isinstance(mode, str) else mode, *a, **k)


builtins.open = _open_without_U
if "bool" not in vars(numpy):
    numpy.bool = bool          # Blender 3.4's glTF importer uses np.bool, which numpy 1.24 (Debian 12's) removed

for job in spec["jobs"]:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = round(float(spec["fps"])), 1.0
    if job["kind"] == "bvh":
        bpy.ops.import_anim.bvh(filepath=job["file"], global_scale=float(job["scale"]), frame_start=int(job["first"]),
                                use_fps_scale=False, update_scene_fps=False, update_scene_duration=True,
                                rotate_mode="NATIVE")
    elif job["kind"] == "glb":
        bpy.ops.import_scene.gltf(filepath=job["file"])
    else:
        raise SystemExit(f"unknown kind {job['kind']}")
    arms = [o for o in scene.objects if o.type == "ARMATURE"]
    assert len(arms) == 1, f"expected one armature, found {len(arms)}"
    arm = arms[0]
    frames = {}
    for f in range(int(job["first"]), int(job["last"]) + 1):
        scene.frame_set(f)
        mw = arm.matrix_world
        frames[f] = {pb.name: [list(mw @ pb.head), list(mw @ pb.tail)] for pb in arm.pose.bones}
    act = arm.animation_data.action if arm.animation_data else None
    with _open(job["out"], "w") as fh:
        json.dump({"version": bpy.app.version_string, "bones": [b.name for b in arm.data.bones],
                   "action_range": list(act.frame_range) if act else None, "frames": frames}, fh)
