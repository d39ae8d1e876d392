"""``structpose video VIDEO --out OUT.npz [--render OUT.mp4] [--export json,csv,bvh,glb] [--view VIEW.html]``."""
from __future__ import annotations

import argparse
import sys

from ._options import add_fov, add_lifter, add_min_score, add_mode
from .world_args import add_world_args, world_line


def _run(args: argparse.Namespace) -> int:
    from ..io.export import parse_formats
    from ..pipeline.lifting import PoseLifter
    from ..pipeline.video_job import video_to_files
    from ._threads import single_threaded
    single_threaded()        # tiny per-frame matmuls: threads cost more than they give
    from ..world import check_height
    formats = parse_formats(args.export) if args.export else []
    height = None if args.no_world else check_height(args.height)
    from ..io.guards import refuse_overwrite
    refuse_overwrite({"--out": args.out, "--render": args.render, "--view": args.view}, {"--lifter": args.lifter})
    lifter = PoseLifter(args.lifter, fov_deg=args.fov, min_score=args.min_score)
    seq, tm, written = video_to_files(args.source, args.out, render=args.render, formats=formats, mode=args.mode,
                                      fit=not args.no_fit, lifter=lifter, max_frames=args.max_frames,
                                      progress=not args.no_progress, tpnet=args.tpnet, height=height,
                                      view=args.view, detect_workers=args.detect_workers)
    ms = tm.per_frame_ms()
    n_bad = int((~seq.valid).sum())
    print(f"{seq.num_frames} frames in {tm.wall:.1f} s ({seq.num_frames / max(tm.wall, 1e-9):.1f} FPS); "
          f"{n_bad} without a person; per frame: detect {ms['detect']:.1f} ms, lift {ms['lift']:.2f} ms, "
          f"temporal+fit {ms['temporal']:.2f} ms, world {1000 * tm.extra.get('world', 0.0) / max(tm.frames, 1):.2f} ms, "
          f"waiting for decode {ms['decode_wait']:.1f} ms",
          file=sys.stderr)
    if height is not None:
        print(world_line(seq), file=sys.stderr)
    print("wrote " + ", ".join(str(p) for p in written))
    if n_bad == seq.num_frames:
        print("warning: no person was found in any frame; the pose file holds only invalid frames", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "video", help="3D poses from a video file, webcam or stream (MediaPipe -> lifter -> TP-Net -> fit)",
        description="Decode -> detect (MediaPipe, offline) -> lift -> TP-Net -> skeleton fit -> write. "
                    "Camera intrinsics are unknown: root depth assumes --fov (the pose itself does not).")
    p.add_argument("source", metavar="VIDEO", help="video file, webcam index (0) or stream URL (rtsp://, http://)")
    p.add_argument("--out", required=True, help="pose file to write (.npz, atomically)")
    p.add_argument("--render", metavar="OUT.mp4", help="also write an mp4: overlay + 3D view")
    p.add_argument("--export", metavar="FMTS", help="also write these formats beside --out: json,csv,bvh,glb,vp3d "
                   "(bvh and glb carry root motion)")
    p.add_argument("--view", metavar="VIEW.html", help="also write the interactive viewer page (with the video)")
    add_mode(p, None, "bidirectional (default for files: half the TP-Net window in the future, one bone-length "
                      "set for the clip), online (causal; default for a webcam or stream) or none (lifter only)")
    add_world_args(p)
    p.add_argument("--no-fit", action="store_true", help="skip skeleton fitting (bone lengths vary per frame)")
    add_fov(p)
    add_min_score(p)
    p.add_argument("--max-frames", type=int, default=None, help="stop after this many frames")
    p.add_argument("--detect-workers", type=int, default=None, metavar="N",
                   help="MediaPipe graphs on a file, each tracking a contiguous chunk on its own core (default 1; "
                        "2 can be faster where a second core is free, see docs/speed.md; a webcam or stream uses 1)")
    add_lifter(p)
    p.add_argument("--tpnet", default=None, help="TP-Net weights for the mode (default: shipped)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_run)

