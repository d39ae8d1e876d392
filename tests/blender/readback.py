"""Run inside Blender: import BVH / GLB files, write every pose bone's world head and tail per frame as JSON.

    blender -b --factory-startup --python readback.py -- FPS KIND:FILE:OUT.json:FIRST:LAST:SCALE ...

KIND is bvh or glb; scene frames FIRST..LAST (inclusive) are read (a BVH is imported starting at
FIRST, scaled by SCALE: 0.01 for a BVH in centimetres).  Each file is imported into an empty scene.  Positions are Blender world coordinates
(Z up), through the armature object's matrix_world.
"""
import builtins
import json
import sys

import bpy
import numpy

args = sys.argv[sys.argv.index("--") + 1:]
fps, jobs = args[0], [a.split(":") for a in args[1:]]
_open = builtins.open


def _open_without_U(file, mode="r", *a, **k):
    # Blender 3.4's BVH importer opens with mode 'rU', which Python 3.11 removed
    return _open(file, mode.replace("U", "") if isinstance(mode, str) else mode, *a, **k)


builtins.open = _open_without_U
if "bool" not in vars(numpy):
    numpy.bool = bool          # Blender 3.4's glTF importer uses np.bool, which numpy 1.24 (Debian 12's) removed

for kind, src, out, first, last, scale in jobs:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = round(float(fps)), 1.0
    if kind == "bvh":
        bpy.ops.import_anim.bvh(filepath=src, global_scale=float(scale), frame_start=int(first), use_fps_scale=False,
                                update_scene_fps=False, update_scene_duration=True, rotate_mode="NATIVE")
    elif kind == "glb":
        bpy.ops.import_scene.gltf(filepath=src)
    else:
        raise SystemExit(f"unknown kind {kind}")
    arms = [o for o in scene.objects if o.type == "ARMATURE"]
    assert len(arms) == 1, f"expected one armature, found {len(arms)}"
    arm = arms[0]
    frames = {}
    for f in range(int(first), int(last) + 1):
        scene.frame_set(f)
        mw = arm.matrix_world
        frames[f] = {pb.name: [list(mw @ pb.head), list(mw @ pb.tail)] for pb in arm.pose.bones}
    act = arm.animation_data.action if arm.animation_data else None
    with _open(out, "w") as fh:
        json.dump({"version": bpy.app.version_string, "bones": [b.name for b in arm.data.bones],
                   "action_range": list(act.frame_range) if act else None, "frames": frames}, fh)
