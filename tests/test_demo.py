"""`structpose demo` (what `make demo` runs) end to end on the embedded real data.

Properties checked, each of which could fail: the real mocap has symmetric, rigid bones; on held-out
motion every temporal stage improves on the per-frame lifter (velocity error), skeleton fitting makes
bone lengths constant, and the written prediction re-reads as a valid pose file whose error against
the written ground truth is what the summary reports.
"""
from __future__ import annotations

import json

import numpy as np

from structpose.cli import main
from structpose.io.posefile import load_pose_file
from structpose.metrics import mpjpe, root_relative


def test_demo_runs_the_whole_chain_on_held_out_motion(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    s = json.loads((out / "summary.json").read_text())
    for src in ("mocap_deepmimic", "mocap_holosoma"):
        assert s[src]["symmetry_mm"] < 1.0 and s[src]["bone_std_mm"] < 1.0      # real bodies: rigid, symmetric
    lifter, online, bidir = s["lifter alone"], s["+ TP-Net online"], s["+ TP-Net bidir. + fit"]
    assert online["mpjve"] < lifter["mpjve"] and bidir["mpjve"] < online["mpjve"]
    assert bidir["mpjpe"] < lifter["mpjpe"] and bidir["pa_mpjpe"] < lifter["pa_mpjpe"]
    assert bidir["bone_length_std"] < 1e-6                                      # fitted: constant bones
    pred = load_pose_file(next(out.glob("*_pred.npz")))
    gt = load_pose_file(next(out.glob("*_gt.npz")))
    assert pred.num_frames == gt.num_frames and pred.fps == gt.fps
    ok = pred.valid & gt.valid
    err = float(mpjpe(root_relative(pred.poses_3d[ok]), root_relative(gt.poses_3d[ok])))
    assert 0.0 < err < 0.5                                                      # metres: a real, bounded error
    assert np.isfinite(pred.poses_3d[pred.valid]).all()
    assert (out / "photo" / "messi5_overlay.png").is_file()
    # the viewer page of the held-out clip holds the prediction's poses (Y up: camera frame turned, or world)
    from structpose.io.bvh_export import yup_poses
    page = next(out.glob("*_pred.html")).read_text()
    held = json.loads(page.split('id="structpose-data">', 1)[1].split("</script>", 1)[0])["poses"]
    first = int(np.flatnonzero(pred.valid)[0])
    assert np.abs(np.array(held[first]) - yup_poses(pred)[0][first]).max() < 1e-5
