"""``structpose export anim POSES.npz --out RUN.glb|RUN.bvh``: a pose file as an animation with root motion."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import StructposeError
from ._groups import group


def _run(args: argparse.Namespace) -> int:
    from ..io.bvh_export import write_bvh_sequence
    from ..io.gltf_export import write_glb
    from ..io.posefile import load_pose_file
    out = Path(args.out)
    kind = out.suffix.lower()
    if kind not in (".bvh", ".glb"):
        raise StructposeError(f"--out {out}: give a file name ending in .bvh or .glb")
    seq = load_pose_file(args.input)
    if not seq.valid.any():
        raise StructposeError(f"{args.input}: no frame holds a pose (every frame is invalid); nothing to animate")
    if kind == ".bvh":
        write_bvh_sequence(out, seq, units=args.units)
    else:
        write_glb(out, seq)
    frame = "world frame" if seq.poses_world is not None else "camera frame turned Y up (no world frame in the file)"
    print(f"wrote {out}: {seq.num_frames} frames at {seq.fps:g} fps, root motion in the {frame}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = group(sub, "export").add_parser(
        "anim", help="a pose file as an animated skeleton with root motion (BVH or glTF .glb)",
        description="BVH or binary glTF of a pose file: Y up, the root translated every frame (the world frame "
                    "when the file has poses_world), fitted bone lengths as offsets. Blender imports both "
                    "(File > Import > Motion Capture (.bvh) at scale 0.01 for centimetres, or glTF 2.0).")
    p.add_argument("input", metavar="POSES.npz", help="pose file")
    p.add_argument("--out", required=True, metavar="OUT.bvh|OUT.glb", help="file to write (atomically)")
    p.add_argument("--units", default="cm", choices=("cm", "m", "mm"), help="BVH units (default cm; GLB: metres)")
    p.set_defaults(func=_run)
