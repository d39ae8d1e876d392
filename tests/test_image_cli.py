"""`structpose image` on real photos: pose files, overlay and 3D PNGs, a photo with no person, bad files."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from structpose.cli import main
from structpose.io.posefile import load_pose_file
from structpose.skeleton import H36M17

DATA = Path("/usr/share/doc/opencv-doc/examples/data")


def test_photos_give_pose_overlay_and_3d_view(tmp_path, capsys):
    import cv2
    blank = tmp_path / "empty_room.png"
    cv2.imwrite(str(blank), np.full((300, 400, 3), 90, np.uint8))
    out = tmp_path / "out"
    rc = main(["image", str(DATA / "messi5.jpg"), str(DATA / "basketball2.png"), str(blank), "--out", str(out)])
    assert rc == 0
    for stem in ("messi5", "basketball2"):
        seq = load_pose_file(out / f"{stem}.npz")
        assert seq.num_frames == 1 and seq.valid[0]
        p = seq.poses_3d[0]
        assert p[0, 2] > 0.5                                    # in front of the camera
        # the symmetric fit: twin limbs have equal length
        L = {c: np.linalg.norm(p[c] - p[q]) for q, c in H36M17.bones}
        for a, b in H36M17.left_right:
            assert abs(L[a] - L[b]) < 1e-5
        ov = cv2.imread(str(out / f"{stem}_overlay.png"))
        src = cv2.imread(str(DATA / f"{stem}{'.jpg' if stem == 'messi5' else '.png'}"))
        assert ov.shape == src.shape and (ov != src).any()     # the photo, drawn on
        assert cv2.imread(str(out / f"{stem}_3d.png")) is not None
    # the empty room: a pose file saying "no person", no pictures, one line on stderr
    seq = load_pose_file(out / "empty_room.npz")
    assert not seq.valid[0] and np.isnan(seq.poses_3d).all()
    assert not (out / "empty_room_overlay.png").exists()
    assert "empty_room.png: no person found" in capsys.readouterr().err


def test_no_person_anywhere_exits_1(tmp_path):
    import cv2
    blank = tmp_path / "b.png"
    cv2.imwrite(str(blank), np.zeros((200, 200, 3), np.uint8))
    assert main(["image", str(blank), "--out", str(tmp_path / "o")]) == 1


def test_bad_files_fail_before_any_output(tmp_path, capsys):
    bad = tmp_path / "photo.jpg"
    bad.write_bytes(b"\xff\xd8 broken jpeg")
    out = tmp_path / "o"
    assert main(["image", str(DATA / "messi5.jpg"), str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a readable image" in err[0]
    assert not out.exists()
