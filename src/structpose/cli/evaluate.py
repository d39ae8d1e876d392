"""``structpose evaluate PRED GT``: every metric of the paper for two pose files."""
from __future__ import annotations

import argparse
import json
import math
from typing import Any

from ..errors import StructposeError
from ..io.atomic import atomic_path
from ..io.posefile import load_pose_file

#: printed order and labels
_ROWS = (
    ("mpjpe", "MPJPE (Protocol 1, root-relative)"),
    ("pa_mpjpe", "PA-MPJPE (Protocol 2, similarity Procrustes)"),
    ("n_mpjpe", "N-MPJPE (scale only)"),
    ("mpjve", "MPJVE (velocity, per frame)"),
    ("pck3d", "3D PCK @ 150 mm"),
    ("auc3d", "3D AUC, 0-150 mm"),
    ("symmetry_error", "symmetry error, mean L1 left/right (pred)"),
    ("symmetry_error_gt", "symmetry error (ground truth)"),
    ("bone_length_std", "bone-length std across frames (pred)"),
    ("bone_length_std_gt", "bone-length std across frames (ground truth)"),
    ("illegal_angle_ratio", "illegal elbow/knee angles (pred)"),
    ("illegal_angle_ratio_gt", "illegal elbow/knee angles (ground truth)"),
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate", help="compare a predicted pose file with ground truth (P1, P2, PCK/AUC, MPJVE, Table 6)",
        description="Compare two pose files frame by frame. Both are root-centred (pelvis) first; frames with "
                    "valid == False in either file are excluded and counted. Averages are over frames; "
                    "predictions are not rescaled (N-MPJPE and PA-MPJPE factor scale out). "
                    "Lengths print in millimetres, ratios in percent.")
    p.add_argument("pred", help="predicted pose file (.npz, H36M-17, metres)")
    p.add_argument("gt", help="ground-truth pose file with the same frames")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object: metric name -> value in mm (lengths) or percent")
    p.add_argument("--out", metavar="FILE.json", help="also write the JSON object to this file (atomically)")
    p.add_argument("--margin", type=float, default=0.0,
                   help="illegal-angle margin (0 = the paper's Eq. 1; 0.05 tolerates near-straight limbs)")
    p.add_argument("--angle-reference", choices=("collar", "torso"), default="collar",
                   help="elbow reference for the illegal-angle test: collar (Eq. 1) or torso (torso-anchored, "
                        "fewer false alarms on raised arms; docs/illegal_angle.md)")
    p.set_defaults(func=run)


def _to_display(results: dict[str, Any]) -> dict[str, Any]:
    from ..metrics import METRIC_UNITS  # torch: imported when evaluating, not when the CLI starts
    out: dict[str, Any] = {}
    for key, unit in METRIC_UNITS.items():
        v = results[key]
        out[key] = None if v is None else (1000.0 * v if unit.startswith("m") else v)
    out["units"] = {k: ("mm" if u == "m" else "mm/frame" if u == "m/frame" else u) for k, u in METRIC_UNITS.items()}
    out["mpjpe_per_joint"] = {k: 1000.0 * v for k, v in results["mpjpe_per_joint"].items()}
    for key in ("frames", "frames_excluded", "averaging"):
        out[key] = results[key]
    return out


def run(args: argparse.Namespace) -> int:
    if not (math.isfinite(args.margin) and 0.0 <= args.margin < 1.0):
        raise StructposeError(f"--margin is {args.margin}; expected a number in [0, 1)")
    if args.out:
        from ..io.guards import refuse_overwrite
        refuse_overwrite({"--out": args.out}, {"PRED": args.pred, "GT": args.gt})
    pred, gt = load_pose_file(args.pred), load_pose_file(args.gt)
    from ..io.guards import check_metres
    check_metres(pred.poses_3d[pred.valid], str(args.pred))   # millimetres would give MPJPEs 1000x too large
    check_metres(gt.poses_3d[gt.valid], str(args.gt))
    if pred.num_frames != gt.num_frames:
        raise StructposeError(f"{args.pred} has {pred.num_frames} frames but {args.gt} has {gt.num_frames}; "
                              "evaluate compares the same frames")
    if abs(pred.fps - gt.fps) > 1e-6 * max(pred.fps, gt.fps):
        raise StructposeError(f"{args.pred} is at {pred.fps:g} fps but {args.gt} at {gt.fps:g} fps; "
                              "resample one of them first")
    from ..metrics import evaluate_sequences
    results = evaluate_sequences(pred.poses_3d, gt.poses_3d, valid=pred.valid & gt.valid, margin=args.margin,
                                 angle_reference=args.angle_reference)
    shown = _to_display(results)
    shown["fps"] = pred.fps
    shown["illegal_angle_margin"] = args.margin
    shown["illegal_angle_reference"] = args.angle_reference
    text = json.dumps(shown, indent=None if args.json else 2)
    if args.out:
        with atomic_path(args.out) as tmp:
            tmp.write_text(text + "\n")
    if args.json:
        print(text)
        return 0
    print(f"{args.pred} vs {args.gt}: {results['frames']} frames evaluated, "
          f"{results['frames_excluded']} excluded (invalid), {pred.fps:g} fps")
    for key, label in _ROWS:
        v, unit = shown[key], shown["units"][key]
        value = "n/a" if v is None else f"{v:10.2f} {unit}"
        print(f"  {label:<48s} {value}")
    worst = sorted(shown["mpjpe_per_joint"].items(), key=lambda kv: -kv[1])[:3]
    print("  worst joints (MPJPE): " + ", ".join(f"{k} {v:.1f} mm" for k, v in worst))
    return 0
