"""Run inside Blender: import a BVH or GLB, write every pose bone's world head/tail per frame as JSON.

    blender -b --factory-startup --python readback.py -- KIND FILE OUT.json FPS FIRST LAST

KIND is bvh or glb; frames FIRST..LAST (scene frames, inclusive) are read.  Positions are Blender's
world coordinates (Z up), through the armature object's matrix_world.
"""
import builtins
import json
import sys

import bpy

kind, src, out, fps, first, last = sys.argv[sys.argv.index("--") + 1:]
_open = builtins.open


def _open_without_U(file, mode="r", *args, **kwargs):
    # Blender 3.4's BVH importer opens with mode 'rU', which Python 3.11 removed
    return _open(file, mode.replace("U", "") if isinstance(mode, str) else mode, *args, **kwargs)


builtins.open = _open_without_U
if kind == "glb":
    import numpy
    if not hasattr(numpy, "bool"):
        # Blender 3.4's glTF importer uses np.bool, which numpy 1.24 (Debian 12's) removed
        numpy.bool = bool
bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene
scene.render.fps, scene.render.fps_base = int(round(float(fps))), 1.0
if kind == "bvh":
    bpy.ops.import_anim.bvh(filepath=src, global_scale=1.0, frame_start=int(first), use_fps_scale=False,
                            update_scene_fps=False, update_scene_duration=True, rotate_mode="NATIVE")
elif kind == "glb":
    bpy.ops.import_scene.gltf(filepath=src)
else:
    raise SystemExit(f"unknown kind {kind}")
arms = [o for o in scene.objects if o.type == "ARMATURE"]
assert len(arms) == 1, f"expected one armature, found {len(arms)}"
arm = arms[0]
act = arm.animation_data.action if arm.animation_data else None
frames = {}
for f in range(int(first), int(last) + 1):
    scene.frame_set(f)
    mw = arm.matrix_world
    frames[f] = {pb.name: [list(mw @ pb.head), list(mw @ pb.tail)] for pb in arm.pose.bones}
with open(out, "w") as fh:
    json.dump({"version": bpy.app.version_string, "bones": [b.name for b in arm.data.bones],
               "action_range": list(act.frame_range) if act else None, "frames": frames}, fh)
