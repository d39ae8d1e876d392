"""Regressions found by QA (H7): each test reproduces a user-visible bug that was fixed."""
from __future__ import annotations

import json

import numpy as np

from structpose.io.export import export
from structpose.io.posefile import PoseSequence


def test_export_of_a_sequence_without_any_pose_skips_bvh_and_vp3d_but_writes_the_rest(tmp_path, capsys):
    # `structpose video` on a clip where nobody is found, with --export json,csv,bvh: the npz, JSON and
    # CSV used to be written and then the BVH export raised (exit 2 with outputs on disk).
    seq = PoseSequence(poses_3d=np.full((4, 17, 3), np.nan, np.float32), fps=25.0,
                       valid=np.zeros(4, bool))
    written = export(seq, tmp_path / "out.npz", ["json", "csv", "bvh", "vp3d"])
    assert sorted(p.name for p in written) == ["out.csv", "out.json"]
    assert not (tmp_path / "out.bvh").exists() and not list(tmp_path.glob("*.vp3d.npz"))
    frames = json.loads((tmp_path / "out.json").read_text())["frames"]
    assert len(frames) == 4 and not any(f["valid"] for f in frames)
    err = capsys.readouterr().err
    assert "out.bvh not written" in err and "vp3d" in err
