"""``structpose video VIDEO --out OUT.npz [--render OUT.mp4] [--export json,csv,bvh,glb] [--view VIEW.html]``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import StructposeError
from .world_args import add_world_args, world_line


def _run(args: argparse.Namespace) -> int:
    from ..io.export import export, parse_formats
    from ..io.posefile import save_pose_file
    from ..pipeline._threads import single_threaded
    from ..pipeline.lifting import PoseLifter
    from ..pipeline.video import MODES, frames, open_source, process_video
    single_threaded()        # tiny per-frame matmuls: threads cost more than they give
    from ..world import check_height
    formats = parse_formats(args.export) if args.export else []
    live = args.source.isdigit() or "://" in args.source
    if args.mode is None:        # a file: the most accurate result the whole file allows; live: causal
        args.mode = "online" if live else "bidirectional"
    height = None if args.no_world else check_height(args.height)
    if args.mode not in MODES:
        raise StructposeError(f"--mode {args.mode!r} unknown; choose one of {', '.join(MODES)}")
    out = Path(args.out)
    if out.suffix != ".npz":
        raise StructposeError(f"--out {out}: the pose file must end in .npz")
    if args.render and Path(args.render).suffix.lower() not in (".mp4", ".m4v", ".mov", ".avi", ".mkv"):
        # checked now: in bidirectional mode the render is written only after the whole video
        raise StructposeError(f"--render {args.render}: give a video file name ending in .mp4 (or .m4v, .mov, "
                              ".avi, .mkv)")
    if args.view and Path(args.view).suffix.lower() not in (".html", ".htm"):
        raise StructposeError(f"--view {args.view}: the viewer is an HTML page; give a file name ending in .html")
    if args.tpnet and args.mode == "none":       # accepted and silently unused otherwise
        raise StructposeError("--tpnet has no effect with --mode none (the lifter alone); drop one of them")
    if args.max_frames is not None and args.max_frames < 1:
        raise StructposeError(f"--max-frames {args.max_frames}; expected a number of frames >= 1")
    if not live:
        # the render (and the pose file) are renamed into place at the end: one of them naming the
        # input would silently replace the user's video
        from ..io.export import export_paths
        from ..io.guards import refuse_overwrite
        refuse_overwrite({"--out": out, "--render": args.render,
                          **export_paths(out, [f for f in formats if f != "npz"])},
                         {"VIDEO": args.source, "--lifter": args.lifter, "--tpnet": args.tpnet})
    if args.render and args.mode != "online" and live:
        raise StructposeError("--render with a live source needs --mode online (a live stream cannot be re-read "
                              "for the bidirectional second pass)")
    lifter = PoseLifter(args.lifter, fov_deg=args.fov, min_score=args.min_score)
    if args.tpnet:       # read (safely) and checked now, even if no frame ends up needing it
        from ..models.tpnet import load_model
        load_model(args.tpnet)
    writer = None
    on_frame = None
    opened = open_source(args.source)
    if args.render and args.mode == "online":
        from ..pipeline.render_video import VideoWriter, compose
        writer = VideoWriter(args.render, opened[1]["fps"])

        def on_frame(i, img, det, pose):
            p = pose if det.found else None
            writer.submit(lambda: compose(img, det.keypoints, det.scores, p, min_score=args.min_score,
                                          label=f"frame {i} online"))
    try:
        seq, tm = process_video(args.source, mode=args.mode, fit=not args.no_fit, lifter=lifter,
                                max_frames=args.max_frames, progress=not args.no_progress,
                                on_frame=on_frame, tpnet=args.tpnet, opened=opened, height=height)
    except BaseException:
        if writer is not None:
            writer.close(ok=False)
        raise
    if writer is not None:
        writer.close()
    announced = opened[1].get("frames")
    if announced and args.max_frames is None and seq.num_frames + max(2, 0.02 * announced) < announced:
        print(f"warning: {args.source}: its header announces {announced} frames but only {seq.num_frames} could "
              "be decoded (truncated or damaged file?); the pose file holds those", file=sys.stderr)
    save_pose_file(out, seq)
    written = [out]
    if formats:
        written += export(seq, out, [f for f in formats if f != "npz"], name=Path(args.source).stem or "video")
    if args.render and args.mode != "online":
        from ..pipeline.render_video import VideoWriter, compose
        cap, _info = open_source(args.source)
        w = VideoWriter(args.render, seq.fps)
        try:
            for i, img in enumerate(frames(cap, seq.num_frames)):
                p = seq.poses_3d[i] if seq.valid[i] else None
                w.submit(lambda img=img, i=i, p=p: compose(img, seq.poses_2d[i], seq.scores[i], p,
                                                           min_score=args.min_score, label=f"frame {i} {args.mode}"))
        except BaseException:
            w.close(ok=False)
            raise
        finally:
            cap.release()
        w.close()
    if args.render:
        written.append(Path(args.render))
    if args.view:
        from ..viewer import write_viewer
        try:
            written.append(write_viewer(args.view, seq, video=None if live else args.source, allow_longer_video=True))
        except StructposeError as e:         # the long run's other outputs are written: say how to make the page
            raise StructposeError(f"{e} ({', '.join(map(str, written))} written; make the page with `structpose "
                                  f"view {out} --video {args.source} --out {args.view} --video-width N`)") from None
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
    p.add_argument("--mode", default=None, help="bidirectional (default for files: half the TP-Net window in "
                   "the future, one bone-length set for the clip), online (causal; default for a webcam or "
                   "stream) or none (lifter only)")
    add_world_args(p)
    p.add_argument("--no-fit", action="store_true", help="skip skeleton fitting (bone lengths vary per frame)")
    p.add_argument("--fov", type=float, default=55.0, help="assumed horizontal field of view, degrees (default 55)")
    p.add_argument("--min-score", type=float, default=0.3, help="joints scored below this are masked (default 0.3)")
    p.add_argument("--max-frames", type=int, default=None, help="stop after this many frames")
    p.add_argument("--lifter", default=None, help="lifter weights (default: shipped)")
    p.add_argument("--tpnet", default=None, help="TP-Net weights for the mode (default: shipped)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_run)

