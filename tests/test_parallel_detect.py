"""MediaPipe on several cores (pipeline.parallel_detect) and the streaming lifter's one-frame path.

The chunked reader is checked on a real video (opencv-doc's vtest.avi) with stand-in detectors that
record which frame they were given: every frame comes back once, in order, as a plain sequential
decode reads it (the priming frames are never yielded), and a later chunk that starts on another
person hands the rest of the file back to the first graph.  The one-frame lift is checked against
the batched lift on real mocap seen by a camera, with masked and missing joints."""
from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from structpose.pipeline.parallel_detect import chunk_bounds, detect_chunks, same_person

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")


def test_chunks_cover_the_frames_and_balance_the_priming():
    for n, k, p in ((100, 2, 0.0), (230, 2, 0.23), (1000, 3, 0.23), (59, 2, 0.23), (10, 4, 0.0)):
        b = chunk_bounds(n, k, 30, p)
        assert b[0][0] == 0 and b[-1][1] == n
        assert all(e0 == s1 for (_, e0), (s1, _) in pairwise(b))
        assert len(b) <= k and (len(b) == 1 or min(e - s for s, e in b) >= 30 * 0.8)
        # each worker: priming through the frames before its chunk (cost p each) + its own chunk
        work = [p * s + (e - s) for s, e in b]
        assert max(work) - min(work) <= 2
    assert len(chunk_bounds(59, 2, 30)) == 1                  # too short for a second graph


def _det(x: float, found: bool = True):
    kp = np.array([[x + 10 * j, 100.0 + 20 * j] for j in range(17)], np.float32)
    return SimpleNamespace(found=found, keypoints=kp if found else np.full((17, 2), np.nan, np.float32))


def test_same_person_is_about_the_body_size():
    a = _det(100.0)                                           # keypoints span 320 px
    assert same_person(a, _det(130.0))                        # moved 30 px: the same person
    assert not same_person(a, _det(600.0))                    # 500 px away: someone else
    assert same_person(_det(0, found=False), a)               # nobody before: one graph re-detects too
    assert not same_person(a, _det(0, found=False))


class _Recorder:
    """A stand-in tracking detector: records the frame it saw (its pixel sum) and reports a person at a
    fixed place per chunk (``places``; the chunk's number ends its worker thread's name)."""

    def __init__(self, places):
        import threading
        self.place = places[min(int(threading.current_thread().name.rsplit("-", 1)[1]), len(places) - 1)]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def __call__(self, img):
        d = _det(self.place)
        d.tag = int(img.astype(np.int64).sum())
        return d


def _sequential_tags(n):
    import cv2
    cap = cv2.VideoCapture(str(VTEST))
    tags = []
    for _ in range(n):
        ok, img = cap.read()
        assert ok
        tags.append(int(img.astype(np.int64).sum()))
    return tags


@pytest.mark.parametrize("places, fallback", [((100.0, 100.0), None), ((100.0, 900.0), "start of chunk 2")])
def test_chunks_return_every_frame_once_in_order(places, fallback):
    n = 90
    stats: dict = {}
    out = list(detect_chunks(VTEST, 795, lambda: _Recorder(places), workers=2, max_frames=n, min_chunk=30,
                             stats=stats))
    assert [d.tag for _, d, _, _ in out] == _sequential_tags(n)
    assert stats["chunks"] == 2
    bounds = chunk_bounds(n, 2, 30, 0.12 + 0.88 / 8)
    if fallback is None:
        assert stats["identity_fallback"] is None
        # the second chunk's frames came from the second graph
        assert {d.keypoints[0, 0] for _, d, _, _ in out[bounds[1][0]:]} == {places[1]}
    else:
        # the second graph started on someone else: the first graph went on through the file
        assert stats["identity_fallback"] == bounds[1][0]
        assert {d.keypoints[0, 0] for _, d, _, _ in out} == {places[0]}


def test_a_header_that_announces_too_many_frames_loses_nothing():
    out = list(detect_chunks(VTEST, 5000, lambda: _Recorder((1.0, 1.0)), workers=2, min_chunk=30))
    assert len(out) == 795                                    # the file's real length


@pytest.fixture(scope="module")
def camera_pixels():
    """Held-out real motion (DeepMimic test clips) 4 m from a camera: pixels (T, 17, 2), with masked
    joints: some scored low, some NaN, and frames with too few joints left."""
    from structpose.cameras import look_at
    from structpose.data.sources import load_clips
    from structpose.data.splits import split_clips
    c = split_clips(load_clips(("deepmimic",)))["test"][0]
    w = np.asarray(c.world[::3], float)
    target = w[:, 0].mean(0)
    R, t = look_at(target + np.array([1.5, 0.5, 4.0]), target)
    cam = w @ R.T + t
    kp = (cam[..., :2] / cam[..., 2:] * 1000.0 + np.array([400.0, 540.0])).astype(np.float32)
    rng = np.random.default_rng(3)
    sc = rng.uniform(0.0, 1.0, kp.shape[:2]).astype(np.float32)
    kp[rng.uniform(size=kp.shape[:2]) < 0.05] = np.nan
    sc[::7, :12] = 0.0                                        # too few joints: NaN pose
    return kp, sc


def test_one_frame_lift_equals_the_batched_lift(camera_pixels):
    from structpose.pipeline.lifting import PoseLifter
    kp, sc = camera_pixels
    lifter = PoseLifter(min_score=0.2)
    size = (1280, 1080)
    one = [lifter(kp[i], sc[i], size) for i in range(len(kp))]
    for i, (cam, rel) in enumerate(one):
        ref_cam, ref_rel = lifter(kp[i][None], sc[i][None], size)          # the batched path, N = 1
        np.testing.assert_allclose(cam, ref_cam[0], atol=1e-6, rtol=0)
        np.testing.assert_allclose(rel, ref_rel[0], atol=1e-6, rtol=0)
    cams = np.stack([c for c, _ in one])
    assert np.isnan(cams[::7]).all() and np.isfinite(cams[1::7]).all()


def test_bad_detect_workers_is_one_line(tmp_path, capsys):
    from structpose.cli import main
    out = tmp_path / "o.npz"
    assert main(["video", str(VTEST), "--out", str(out), "--detect-workers", "0", "--max-frames", "3",
                 "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--detect-workers 0" in err and "\n" not in err and not out.exists()


@pytest.mark.parametrize("info, on_frame, why", [
    ({"live": True, "frames": None}, None, "live source"),
    ({"live": False, "frames": None}, None, "frame count is unknown"),
    ({"live": False, "frames": 300}, print, "drawn in order"),
])
def test_several_graphs_asked_where_one_must_run_is_said(info, on_frame, why, capsys):
    from structpose.pipeline.video import auto_detect_workers
    assert auto_detect_workers(info, on_frame, asked=2) == 1
    err = capsys.readouterr().err
    assert err.startswith("warning:") and why in err and err.count("\n") == 1
    assert auto_detect_workers({"live": False, "frames": 300}, None, asked=2) == 2    # a plain file: as asked
    assert auto_detect_workers(info, on_frame, asked=1) == 1 and capsys.readouterr().err == ""
