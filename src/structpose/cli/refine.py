"""``structpose refine IN.npz --out OUT.npz [--mode online|bidirectional] [--fit-skeleton] [--bone-lengths FILE]``.

Temporal refinement of a pose file with TP-Net (shipped weights unless ``--model``), then optional
skeleton fitting.  Any frame rate: TP-Net reads its 30 fps windows from the input by interpolating
in time, and writes one output frame per input frame (see :mod:`structpose.pipeline.refiner`,
which also documents the policy for missing frames and joints).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ..errors import StructposeError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "refine", help="temporally refine a 3D pose file with TP-Net (+ skeleton fitting)",
        description="Refine the 3D poses of a structpose pose file (.npz) with TP-Net. Works at any frame rate: "
                    "the model's 30 fps windows are interpolated from the input, one output frame per input "
                    "frame. Missing frames (NaN) up to 0.5 s are bridged (online: hold; bidirectional: "
                    "interpolate) and become valid (listed in meta['refine']['bridged_frames']); longer gaps stay NaN. A 1-frame file is refined from a window repeating it.")
    p.add_argument("input", help="pose file (.npz) with poses_3d (T,17,3) metres and fps")
    p.add_argument("--out", required=True, help="output pose file (.npz)")
    p.add_argument("--mode", choices=("online", "bidirectional"), default="online",
                   help="online: past frames only (lag 0); bidirectional: past and future frames "
                        "(shipped: 5 past + 4 future model frames at 30 fps, lag 4)")
    p.add_argument("--fit-skeleton", action="store_true",
                   help="impose constant bone lengths (the sequence's median, or --bone-lengths)")
    p.add_argument("--bone-lengths", metavar="FILE",
                   help="subject bone lengths in metres: .json (list of 16, or {child_joint: length}), "
                        ".npy/.txt (16 numbers, H36M-17 bone order) or a pose file (.npz: its median)")
    p.add_argument("--model", metavar="PT", help="a model from `structpose train tpnet` instead of the shipped one")
    p.add_argument("--fps", type=float, help="frame rate for a pose file that lacks one (or to override it)")
    p.add_argument("--max-gap", type=float, default=0.5, metavar="S",
                   help="longest run of missing frames (seconds) to bridge (default 0.5)")
    p.set_defaults(func=run)


def load_bone_lengths(path: str | Path) -> np.ndarray:
    """16 bone lengths (metres, ``H36M17.bones`` order) from a .json / .npy / .txt / pose file."""
    from ..fitting import median_bone_lengths
    from ..io.posefile import load_pose_file
    from ..skeleton import H36M17
    path = Path(path)
    nb = len(H36M17.bones)
    if path.is_dir():
        raise StructposeError(f"--bone-lengths {path} is a folder; expected a .json, .npy, .txt or pose file")
    if not path.is_file():
        raise StructposeError(f"{path}: no such bone-length file")
    try:
        if path.suffix == ".npz":
            seq = load_pose_file(path)
            if not seq.valid.any():
                raise StructposeError(f"{path}: no valid frame to take the median bone lengths from")
            L = median_bone_lengths(seq.poses_3d[seq.valid].astype(np.float64))
        elif path.suffix == ".json":
            raw = json.loads(path.read_text())
            if isinstance(raw, dict):
                missing = [H36M17.names[c] for _, c in H36M17.bones if H36M17.names[c] not in raw]
                if missing:
                    raise StructposeError(f"{path}: bone lengths lack child joints {', '.join(missing)}")
                raw = [raw[H36M17.names[c]] for _, c in H36M17.bones]
            if not isinstance(raw, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                    for v in raw):
                raise StructposeError(f"{path}: bone lengths must be numbers (a list of {nb}, or "
                                      "{child_joint: metres}); found other JSON values")
            L = np.asarray(raw, np.float64)
        elif path.suffix == ".npy":
            L = np.load(path, allow_pickle=False).astype(np.float64)
        else:
            L = np.loadtxt(path, dtype=np.float64)
    except StructposeError:             # a ValueError too: keep its message instead of hiding it
        raise
    except (ValueError, OSError, TypeError, json.JSONDecodeError) as e:
        raise StructposeError(f"{path}: unreadable bone lengths ({type(e).__name__})") from None
    L = np.ravel(L)
    if L.shape != (nb,) or not np.isfinite(L).all() or (L <= 0).any():
        raise StructposeError(f"{path}: expected {nb} positive bone lengths in metres (H36M-17 bones, child joints "
                              f"{', '.join(H36M17.names[1:])}); got {L.size} values")
    if L.min() < 0.01:
        raise StructposeError(f"{path}: a bone of {L.min():.3g} m; every bone must be at least 0.01 m (1 cm)")
    if L.max() > 3.0:
        raise StructposeError(f"{path}: a bone of {L.max():.1f} m; bone lengths must be in metres, not millimetres")
    return L


def _load(args: argparse.Namespace):
    from ..io.posefile import PoseSequence, load_pose_file
    try:
        seq = load_pose_file(args.input)
    except StructposeError as e:
        if "lacks fps" not in str(e) or args.fps is None:
            if "lacks fps" in str(e):
                raise StructposeError(f"{e}; pass --fps to give the frame rate") from None
            raise
        with np.load(args.input, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
        seq = PoseSequence(poses_3d=data["poses_3d"], fps=args.fps, layout=str(data.get("layout", "h36m17")),
                           poses_2d=data.get("poses_2d"), scores=data.get("scores"), valid=data.get("valid"))
    if args.fps is not None:
        from ..errors import check_fps
        seq.fps = check_fps(args.fps, "--fps")
    return seq


def run(args: argparse.Namespace) -> int:
    from ..io.guards import refuse_overwrite
    from ..io.posefile import PoseSequence, save_pose_file
    from ..pipeline.refiner import refine_sequence
    from ..skeleton import H36M17
    refuse_overwrite({"--out": args.out}, {"INPUT": args.input, "--bone-lengths": args.bone_lengths,
                                           "--model": args.model})
    from ..errors import check_metres, warn
    if args.fps is not None:
        from ..errors import check_fps
        check_fps(args.fps, "--fps")
    if not (np.isfinite(args.max_gap) and 0 <= args.max_gap <= 3600):
        raise StructposeError(f"--max-gap {args.max_gap}; expected seconds, 0..3600 (0: bridge nothing)")
    seq = _load(args)
    poses = seq.poses_3d.astype(np.float64)
    poses[~seq.valid] = np.nan
    check_metres(poses, str(args.input))
    # a valid frame whose joints all sit at one point (e.g. all zeros) is no skeleton: treat it as missing
    bones = np.linalg.norm(poses[:, 1:] - poses[:, list(H36M17.parents[1:])], axis=-1)
    flat = np.isfinite(bones).all(-1) & (np.nan_to_num(bones).max(-1) < 1e-3)
    if flat.any():
        warn(f"{args.input}: {int(flat.sum())} frame(s) marked valid hold no skeleton (every bone < 1 mm, e.g. "
             "all zeros); refined as missing frames")
        poses[flat] = np.nan
    fit = load_bone_lengths(args.bone_lengths) if args.bone_lengths else (True if args.fit_skeleton else None)
    out = refine_sequence(poses, seq.fps, mode=args.mode, fit=fit, model=args.model, max_gap_s=args.max_gap)
    valid = np.isfinite(out).all((1, 2))
    # frames missing in the input that now hold a bridged pose: say so (they become valid)
    bridged = np.flatnonzero(valid & ~np.isfinite(poses).all((1, 2)))
    meta = dict(seq.meta)
    meta["refine"] = {"mode": args.mode, "model": str(args.model or "shipped"),
                      "fit_skeleton": "lengths file" if args.bone_lengths else bool(args.fit_skeleton),
                      "max_gap_s": args.max_gap, "input_fps": seq.fps, "bridged_frames": bridged.tolist()}
    res = PoseSequence(poses_3d=out, fps=seq.fps, poses_2d=seq.poses_2d, scores=seq.scores,
                       image_size=seq.image_size, valid=valid, meta=meta)
    path = save_pose_file(args.out, res)
    print(f"refined {seq.num_frames} frames at {seq.fps:g} fps ({args.mode}"
          f"{', skeleton fitted' if fit is not None else ''}); {int((~valid).sum())} frames without a pose"
          f"{f', {len(bridged)} missing input frames bridged (gaps <= {args.max_gap:g} s)' if len(bridged) else ''}"
          f" -> {path}")
    return 0
