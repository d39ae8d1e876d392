"""``structpose data renders --out FILE.npz --frames N [--video-length L] [--split train|val|test]``: Anny
bodies posed by real mocap, rendered on real photos, with MediaPipe's 2D / world 3D beside the truth.
``--chunks DIR --chunk-count N``: the large video-mode set of every motion family, in chunk files
(structpose.train.render_chunks)."""
from __future__ import annotations

import argparse
import re
import sys

from ..errors import StructposeError
from ._groups import group


def _size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not m or not (64 <= int(m.group(1)) <= 4096 and 64 <= int(m.group(2)) <= 4096):
        raise argparse.ArgumentTypeError(f"{text!r}: expected WIDTHxHEIGHT between 64 and 4096, e.g. 640x480")
    return int(m.group(1)), int(m.group(2))


def register(sub: argparse._SubParsersAction) -> None:
    g = group(sub, "data")
    p = g.add_parser("renders", help="realistic renders of real motion + MediaPipe's outputs on them (npz)",
                     description="Render Anny bodies posed by real mocap of one split on real photos, run "
                                 "MediaPipe on every frame, and write (detector 2D, detector world 3D, true "
                                 "2D/3D) per frame.  Needs the `render` extra (anny, pyrender, libosmesa6).")
    p.add_argument("--out", help="output .npz (format: structpose.train.render_pairs)")
    p.add_argument("--frames", type=int, help="number of frames to render (>= 1)")
    p.add_argument("--chunks", metavar="DIR", help="instead of --out: write video-mode chunks of every motion family "
                   "and split into DIR (existing chunks are kept; see structpose.train.render_chunks)")
    p.add_argument("--chunk-count", type=int, default=40, help="with --chunks: how many chunks (default 40)")
    p.add_argument("--chunk-sequences", type=int, default=20, help="with --chunks: sequences per chunk (default 20)")
    p.add_argument("--minutes", type=float, help="with --chunks: stop starting new chunks after this many minutes")
    p.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)   # a worker of --chunks
    p.add_argument("--only", type=int, help=argparse.SUPPRESS)
    p.add_argument("--video-length", type=int, default=None,
                   help="frames per sequence; 1 = stills (MediaPipe static mode, the default), > 1 = videos "
                        "(tracking mode; --chunks default 32)")
    p.add_argument("--split", default="train", choices=["train", "val", "test"], help="clips of this split")
    p.add_argument("--sources", default="deepmimic,holosoma", help="comma-separated motion sources")
    p.add_argument("--seed", type=int, default=0, help="random seed (>= 0)")
    p.add_argument("--size", type=_size, default=(640, 480), help="image WIDTHxHEIGHT (default 640x480)")
    p.add_argument("--save-images", metavar="DIR", help="also write the first --save-count images as PNGs")
    p.add_argument("--save-count", type=int, default=16, help="how many images --save-images writes")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..train.render_pairs import generate
    if args.chunks:
        args.video_length = 32 if args.video_length is None else args.video_length
        return _chunks(args)
    args.video_length = 1 if args.video_length is None else args.video_length
    if args.out is None or args.frames is None:
        raise StructposeError("give --out FILE.npz and --frames N (or --chunks DIR)")
    if args.frames < 1 or args.video_length < 1:
        raise StructposeError(f"--frames ({args.frames}) and --video-length ({args.video_length}) must be >= 1")
    if args.seed < 0:
        raise StructposeError(f"--seed must be >= 0, got {args.seed}")
    if not str(args.out).endswith(".npz"):
        raise StructposeError(f"--out {args.out}: expected a .npz file name")
    sources = tuple(s.strip() for s in args.sources.split(",") if s.strip())
    meta = generate(args.out, args.frames, args.video_length, args.split, args.seed, sources, args.size,
                    args.save_images, args.save_count if args.save_images else 0,
                    progress=lambda m: print(m, file=sys.stderr, flush=True))
    print(f"{args.out}: {meta['frames']} frames ({meta['sequences']} sequences), "
          f"{meta['renders_per_s']} renders/s, {meta['detections_per_s']} detections/s")
    return 0


def _chunks(args: argparse.Namespace) -> int:
    import time

    from ..train.render_chunks import generate_chunks
    if args.out is not None or args.frames is not None:
        raise StructposeError("--chunks writes its own files: drop --out / --frames")
    if args.chunk_count < 1 or args.chunk_sequences < 1 or args.video_length < 2 or args.seed < 0:
        raise StructposeError("--chunk-count and --chunk-sequences must be >= 1, --video-length >= 2 (video mode), "
                              "--seed >= 0")
    if args.minutes is not None and args.minutes <= 0:
        raise StructposeError(f"--minutes {args.minutes}; expected a positive number")
    stop = None if args.minutes is None else time.time() + 60 * args.minutes
    log = lambda m: print(m, file=sys.stderr, flush=True)
    if args.in_process:
        paths = generate_chunks(args.chunks, args.chunk_count, args.chunk_sequences, args.video_length, args.seed,
                                args.size, stop_at=stop, log=log, only=args.only)
    else:                                   # one process per chunk: the renderer's memory grows per frame
        from ..train.render_chunks import generate_chunks_in_processes
        argv = ["--chunk-sequences", str(args.chunk_sequences), "--video-length", str(args.video_length),
                "--seed", str(args.seed), "--size", f"{args.size[0]}x{args.size[1]}"]
        paths = generate_chunks_in_processes(args.chunks, args.chunk_count, argv, stop_at=stop, log=log)
    print(f"{args.chunks}: {len(paths)} chunk files")
    return 0
