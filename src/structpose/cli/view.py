"""``structpose view OUT.npz [--video IN.mp4] --out VIEW.html``: the interactive viewer page."""
from __future__ import annotations

import argparse


def _run(args: argparse.Namespace) -> int:
    from ..io.posefile import load_pose_file
    from ..viewer import write_viewer
    seq = load_pose_file(args.input)
    path = write_viewer(args.out, seq, video=args.video, video_width=args.video_width,
                        max_video_mb=args.max_video_mb)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "view", help="write an interactive, self-contained HTML viewer of a pose file (offline)",
        description="One HTML file that works offline: the 3D skeleton (orbit, zoom), floor, path and foot "
                    "contacts, a timeline, and the source video (one JPEG per frame) with the 2D keypoints.")
    p.add_argument("input", metavar="POSES.npz", help="pose file (from video, lift, refine, data convert)")
    p.add_argument("--out", required=True, metavar="VIEW.html", help="page to write (atomically)")
    p.add_argument("--video", metavar="VIDEO", help="the video the pose file was made from (same frames and fps)")
    p.add_argument("--video-width", type=int, default=480, help="embedded frames' width in pixels (default 480)")
    p.add_argument("--max-video-mb", type=float, default=64.0, help="refuse a page whose video exceeds this (MB)")
    p.set_defaults(func=_run)
