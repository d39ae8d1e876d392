"""The video command's whole job: checks, the streaming chain, the optional rendered mp4 and viewer page, the files.

:func:`structpose.pipeline.video.process_video` is the chain (decode -> detect -> lift -> TP-Net ->
fit); this module adds what a command needs around it: checking every output path before a long
run, rendering the overlay + 3D view (live in online mode; a second read of the video otherwise) and
writing the pose file and exports (:func:`structpose.pipeline.outputs.write_outputs`).
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import StructposeError
from ..io.posefile import PoseSequence
from .lifting import PoseLifter
from .outputs import check_outputs, check_pose_path, write_outputs
from .refiner import MODES
from .video import Timings, frames, open_source, process_video

RENDER_SUFFIXES = (".mp4", ".m4v", ".mov", ".avi", ".mkv")


def is_live(source: str) -> bool:
    """A webcam index or a stream URL (cannot be read twice), not a file."""
    return source.isdigit() or "://" in source


def default_mode(source: str) -> str:
    """A file: bidirectional (the most accurate result the whole file allows); a webcam or stream: online."""
    return "online" if is_live(source) else "bidirectional"


def _check(source: str, out: Path, render: str | None, view: str | None, mode: str, max_frames: int | None,
           tpnet, formats: Sequence[str] = ()) -> None:
    if mode not in MODES:
        raise StructposeError(f"--mode {mode!r} unknown; choose one of {', '.join(MODES)}")
    if render and Path(render).suffix.lower() not in RENDER_SUFFIXES:
        # checked now: in bidirectional mode the render is written only after the whole video
        raise StructposeError(f"--render {render}: give a video file name ending in .mp4 (or .m4v, .mov, "
                              ".avi, .mkv)")
    if view and Path(view).suffix.lower() not in (".html", ".htm"):
        raise StructposeError(f"--view {view}: the viewer is an HTML page; give a file name ending in .html")
    if tpnet and mode == "none":       # accepted and silently unused otherwise
        raise StructposeError("--tpnet has no effect with --mode none (the lifter alone); drop one of them")
    live = is_live(source)
    if max_frames is not None and max_frames < 1:
        raise StructposeError(f"--max-frames {max_frames}; expected a number of frames >= 1")
    if not live:
        # the render, the viewer and the pose file are renamed into place at the end: one of them naming
        # the input would silently replace the user's video
        check_outputs(out, formats, {"VIDEO": source, "--tpnet": tpnet}, {"--render": render, "--view": view})
    if render and mode != "online" and live:
        raise StructposeError("--render with a live source needs --mode online (a live stream cannot be re-read "
                              "for the bidirectional second pass)")


def video_to_files(source: str, out: str | Path, render: str | None = None, formats: Sequence[str] = (),
                   mode: str | None = None, fit: bool = True, lifter: PoseLifter | None = None,
                   max_frames: int | None = None, progress: bool = True, tpnet: str | Path | None = None,
                   height: float | None = None, view: str | None = None, detect_workers: int | None = None
                   ) -> tuple[PoseSequence, Timings, list[Path]]:
    """Run the video chain on ``source`` (file, webcam index, stream URL) and write ``out`` (.npz),
    ``formats`` beside it, with ``render`` an mp4 of the overlay + 3D view, with ``view`` the interactive
    viewer page.  ``mode`` None: :func:`default_mode`; ``height`` (metres): also the world frame.
    Returns the pose sequence, the timings and the paths written."""
    out = check_pose_path(out)
    mode = mode or default_mode(source)
    _check(source, out, render, view, mode, max_frames, tpnet, formats)
    if tpnet:       # read (safely) and checked now, even if no frame ends up needing it
        from ..models.tpnet import load_model
        load_model(tpnet)
    lifter = lifter or PoseLifter()
    min_score = lifter.min_score
    writer = None
    on_frame = None
    opened = open_source(source)
    if render and mode == "online":
        from .render_video import VideoWriter, compose
        writer = VideoWriter(render, opened[1]["fps"])

        def on_frame(i, img, det, pose):
            p = pose if det.found else None
            writer.submit(lambda: compose(img, det.keypoints, det.scores, p, min_score=min_score,
                                          label=f"frame {i} online"))
    try:
        seq, tm = process_video(source, mode=mode, fit=fit, lifter=lifter, max_frames=max_frames,
                                progress=progress, on_frame=on_frame, tpnet=tpnet, opened=opened, height=height,
                                detect_workers=detect_workers)
    except BaseException:
        if writer is not None:
            writer.close(ok=False)
        raise
    if writer is not None:
        writer.close()
    announced = opened[1].get("frames")
    if announced and max_frames is None and seq.num_frames + max(2, 0.02 * announced) < announced:
        from ..errors import warn
        warn(f"{source}: its header announces {announced} frames but only {seq.num_frames} could be decoded "
             "(truncated or damaged file?); the pose file holds those")
    written = write_outputs(seq, out, formats, name=Path(source).stem or "video")
    if render and mode != "online":
        from .render_video import VideoWriter, compose
        cap, _info = open_source(source)
        w = VideoWriter(render, seq.fps)
        try:
            for i, img in enumerate(frames(cap, seq.num_frames)):
                p = seq.poses_3d[i] if seq.valid[i] else None
                w.submit(lambda img=img, i=i, p=p: compose(img, seq.poses_2d[i], seq.scores[i], p,
                                                           min_score=min_score, label=f"frame {i} {mode}"))
        except BaseException:
            w.close(ok=False)
            raise
        finally:
            cap.release()
        w.close()
    if render:
        written.append(Path(render))
    if view:
        from ..viewer import write_viewer
        try:
            written.append(write_viewer(view, seq, video=None if is_live(source) else source, allow_longer_video=True))
        except StructposeError as e:         # the long run's other outputs are written: say how to make the page
            raise StructposeError(f"{e} ({', '.join(map(str, written))} written; make the page with `structpose "
                                  f"view {out} --video {source} --out {view} --video-width N`)") from None
    return seq, tm, written
