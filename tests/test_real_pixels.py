"""The real-pixels yardstick: cross-view consistency, the per-view and structural measures, the reference
built from synthetic calibrated views of real mocap, synchronisation checks and the MediaPipe track cache."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from structpose.analysis import real_pixels as rp
from structpose.analysis.tracks import Track, check_synchronised, detect_video
from structpose.cameras import Camera, look_at
from structpose.errors import StructposeError
from structpose.metrics import cross_view_consistency
from structpose.skeleton import H36M17, MEDIAPIPE33

Y_UP = np.array([0.0, 1.0, 0.0])


@pytest.fixture(scope="module")
def clip(deepmimic_clips):
    return next(c for c in deepmimic_clips if "walk" in c.name).world[:40].astype(np.float64)


def cameras(n=3):
    out = []
    for k in range(n):
        a = 2 * np.pi * k / n + 0.4
        R, t = look_at(np.array([4 * np.cos(a), 1.2, 4 * np.sin(a)]), np.array([0.0, 0.9, 0.0]), up=Y_UP)
        out.append(Camera(R, t, np.array([1500.0, 1500.0]), np.array([540.0, 960.0]), (1088, 1920),
                          np.array([-0.04, 0.1, 0.0, 0.0, 0.0])))
    return out


def _loop_pa(a, b):
    x, y = a - a.mean(0), b - b.mean(0)
    rot, _ = Rotation.align_vectors(y, x)
    xr = x @ rot.as_matrix().T
    return np.linalg.norm((xr * y).sum() / (x * x).sum() * xr - y, axis=1).mean()


def test_cross_view_consistency_zero_for_one_shape_and_a_pairwise_loop_otherwise(clip):
    cams = cameras()
    views = np.stack([c.world_to_camera(clip) for c in cams])
    views[1] *= 1.3                                       # a view may get the size wrong: PA forgives it
    assert cross_view_consistency(views) < 1e-9
    rng = np.random.default_rng(0)
    noisy = views + rng.normal(0, 0.03, views.shape)
    per_t = cross_view_consistency(noisy, "none")
    t = 7
    loop = np.mean([_loop_pa(noisy[i, t], noisy[j, t]) for i in range(3) for j in range(3) if i != j])
    assert per_t[t] == pytest.approx(loop, rel=1e-6)
    noisy[1:, 3] = np.nan                                 # one view only at t = 3; none at t = 4
    noisy[:, 4] = np.nan
    per_t = cross_view_consistency(noisy, "none")
    assert np.isnan(per_t[3]) and np.isnan(per_t[4]) and np.isfinite(np.delete(per_t, [3, 4])).all()
    with pytest.raises(StructposeError, match="two views"):
        cross_view_consistency(np.full((2, 3, 17, 3), np.nan))


def test_evaluate_view_roots_at_the_hips_and_pa_forgives_rotation(clip):
    ref = cameras(1)[0].world_to_camera(clip)
    frames = np.ones(len(ref), bool)
    moved = ref + np.linspace(0, 1, len(ref))[:, None, None] * np.array([0.5, 0.0, 2.0])   # root drifts
    r = rp.evaluate_view(moved, ref, frames)
    assert r["mpjpe"] < 1e-6 and r["mpjve"] < 1e-6 and r["frames"] == len(ref)
    rot = Rotation.from_euler("y", 30, degrees=True).as_matrix()
    turned = ref @ rot.T * 1.1
    r = rp.evaluate_view(turned, ref, frames)
    assert r["pa_mpjpe"] < 1e-6 and r["mpjpe"] > 30          # 30 degrees off is tens of mm on a body
    frames[::2] = False
    bad = ref.copy()
    bad[1, 3] = np.nan
    assert rp.evaluate_view(bad, ref, frames)["frames"] == len(ref) // 2 - 1


def test_structural_measures_by_hand(clip):
    # real mocap: constant, symmetric bones -> symmetry and bone std 0
    s = rp.structural(clip, np.ones(len(clip), bool))
    assert s["symmetry"] < 1e-6 and s["bone_std"] < 1e-6 and s["person_pct"] == 100
    # a static pose whose right wrist flickers by +-d: second difference 4d at that joint only
    still = np.repeat(clip[:1], 20, 0)
    d = 0.01
    still[:, H36M17.index("r_wrist"), 0] += d * (-1.0) ** np.arange(20)
    s = rp.structural(still, np.ones(20, bool))
    assert s["jitter"] == pytest.approx(100 * 4 * d / 12 / (s["limb_mm"] / 1000), rel=1e-6)
    # right forearm 20 % longer: |r - l| = 0.2 l on one of the 4 pairs
    long = clip.copy()
    e, w = H36M17.index("r_elbow"), H36M17.index("r_wrist")
    long[:, w] = long[:, e] + 1.2 * (long[:, w] - long[:, e])
    s = rp.structural(long, np.ones(len(clip), bool))
    fore = np.linalg.norm(clip[0, w] - clip[0, e])
    assert s["symmetry"] == pytest.approx(100 * 0.2 * fore / 4 / (s["limb_mm"] / 1000), rel=1e-6)
    found = np.zeros(len(clip), bool)
    found[:10] = True
    assert rp.structural(np.where(found[:, None, None], clip, np.nan), found)["person_pct"] == pytest.approx(1000 / len(clip))


def _track(uv33, vis33, size=(1088, 1920)) -> Track:
    T = uv33.shape[0]
    return Track(keypoints=np.zeros((T, 17, 2), np.float32), scores=np.ones((T, 17), np.float32),
                 landmarks33=uv33, visibility33=vis33, world33=np.full((T, 33, 3), np.nan), found=np.ones(T, bool),
                 fps=30.0, image_size=size)


def test_reference_recovers_real_mocap_seen_by_calibrated_views(clip):
    """H36M limb joints of real mocap placed as MediaPipe landmarks, projected through 3 cameras (with
    distortion): the reference gives back the world joints, the synthesised ones follow the documented
    conversion, and joints built from landmarks nobody saw (nose, head top) are NaN rather than invented."""
    cams = cameras()
    lm = np.full((len(clip), 33, 3), np.nan)
    for name in ("l_hip", "r_hip", "l_knee", "r_knee", "l_ankle", "r_ankle", "l_shoulder", "r_shoulder",
                 "l_elbow", "r_elbow", "l_wrist", "r_wrist"):
        lm[:, MEDIAPIPE33.index(name)] = clip[:, H36M17.index(name)]
    tracks = [_track(c.project(c.world_to_camera(lm)), np.where(np.isfinite(lm[..., 0]), 0.9, 0.0)) for c in cams]
    ref, _tri = rp.triangulated_reference(tracks, cams)
    np.testing.assert_allclose(rp.compared(ref), rp.compared(clip), atol=1e-6)
    mid = 0.5 * (clip[:, H36M17.index("l_hip")] + clip[:, H36M17.index("r_hip")])
    np.testing.assert_allclose(ref[:, 0], mid, atol=1e-6)                 # pelvis = the hips' midpoint
    four = [H36M17.index(n) for n in ("l_hip", "r_hip", "l_shoulder", "r_shoulder")]
    np.testing.assert_allclose(ref[:, H36M17.index("spine")], clip[:, four].mean(1), atol=1e-6)
    assert np.isnan(ref[:, H36M17.index("neck_nose")]).all() and np.isnan(ref[:, H36M17.index("head_top")]).all()
    with pytest.raises(StructposeError, match="equal length"):
        rp.triangulated_reference([tracks[0], _track(tracks[1].landmarks33[:10], tracks[1].visibility33[:10])],
                                  cams[:2])


def test_a_view_missing_from_the_calibration_is_one_line():
    cams = dict(zip(("cam01", "cam02"), cameras(2)))
    assert rp.cameras_for(cams, ["cam02", "cam01"]) == [cams["cam02"], cams["cam01"]]
    with pytest.raises(StructposeError, match="no camera cam05; it lists cam01, cam02"):
        rp.cameras_for(cams, ["cam01", "cam05"])


def test_view_sizes_allow_only_an_encoder_crop():
    cams = cameras(2)
    ok = [_track(np.zeros((1, 33, 2)), np.ones((1, 33)), (1080, 1920)), _track(np.zeros((1, 33, 2)),
                                                                                 np.ones((1, 33)))]
    notes = rp.check_view_sizes(ok, cams, ["a", "b"])
    assert len(notes) == 1 and "a: video 1080x1920" in notes[0]
    with pytest.raises(StructposeError, match="b: video is 1920x1080 but its calibration says 1088x1920"):
        rp.check_view_sizes([ok[0], _track(np.zeros((1, 33, 2)), np.ones((1, 33)), (1920, 1080))], cams, ["a", "b"])


def _write_video(path: Path, n: int, fps: float, size=(64, 48)) -> Path:
    import cv2
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    for k in range(n):
        out.write(np.full((size[1], size[0], 3), 40 + k, np.uint8))
    out.release()
    return path


def test_unsynchronised_views_are_one_line(tmp_path):
    a = _write_video(tmp_path / "a.mp4", 12, 30.0)
    assert check_synchronised([a, _write_video(tmp_path / "b.mp4", 12, 30.0)]) == (12, 30.0)
    for name, n, fps, msg in (("short.mp4", 8, 30.0, "different lengths"), ("fast.mp4", 12, 60.0, "frame rates")):
        with pytest.raises(StructposeError, match=msg) as e:
            check_synchronised([a, _write_video(tmp_path / name, n, fps)])
        assert "\n" not in str(e.value)
    with pytest.raises(StructposeError, match="needs 2 or more"):
        check_synchronised([a])


def test_track_of_an_empty_room_is_nan_and_cached(tmp_path):
    video = _write_video(tmp_path / "room.mp4", 6, 30.0, size=(160, 120))
    tr = detect_video(video, "image", cache_dir=tmp_path / "cache")
    assert len(tr) == 6 and not tr.found.any() and np.isnan(tr.keypoints).all() and np.isnan(tr.world33).all()
    assert tr.sapnet is not None and np.isnan(tr.sapnet).all()
    files = list((tmp_path / "cache").glob("room.image.*.npz"))
    assert len(files) == 1
    again = detect_video(video, "image", cache_dir=tmp_path / "cache")
    for k in ("keypoints", "landmarks33", "world33", "found", "sapnet"):
        np.testing.assert_array_equal(getattr(tr, k), getattr(again, k))
    with pytest.raises(StructposeError, match="detector mode"):
        detect_video(video, "webcam")


def test_mediapipe_world_landmarks_on_a_real_photo():
    """MediaPipe's own 3D (a row of every table): metres, origin between the hips, y down (ankles below
    shoulders), human-sized thighs."""
    from structpose.pipeline.detector import PoseDetector, read_image
    img = read_image("/usr/share/doc/opencv-doc/examples/data/basketball1.png")
    with PoseDetector(video=False) as det:
        d = det(img)
    w = d.world33
    assert d.found and w.shape == (33, 3)
    m = MEDIAPIPE33.index
    assert np.linalg.norm(0.5 * (w[m("l_hip")] + w[m("r_hip")])) < 0.05
    assert w[m("l_ankle"), 1] > w[m("l_shoulder"), 1] + 0.8
    assert 0.25 < np.linalg.norm(w[m("l_knee")] - w[m("l_hip")]) < 0.6
    np.testing.assert_allclose(d.landmarks33[m("l_wrist")], d.keypoints[H36M17.index("l_wrist")], atol=1e-3)


def test_systems_registry_gives_every_row_the_same_contract(clip):
    """Each registered system maps one view's tracks to (T, 17, 3) camera-frame poses; a new model is one
    register_system call away."""
    assert {"mediapipe_world", "video_online", "video_bidirectional", "video_none", "image", "sapnet"} <= set(rp.SYSTEMS)
    sys_ = rp.register_system("test_echo", "echo", lambda v: np.zeros((len(v.video), 17, 3)))
    try:
        tr = _track(np.zeros((4, 33, 2)), np.ones((4, 33)))
        assert sys_.run(rp.ViewInput(tr, tr)).shape == (4, 17, 3)
    finally:
        rp.SYSTEMS.pop("test_echo")


def test_conversion_keeps_joints_whose_sources_are_seen():
    """A NaN landmark (here the nose, an untrusted reference point) makes only the joints built from it
    NaN: H36M's neck/nose and head top, not the limbs (NaN * 0 would have poisoned every joint)."""
    from structpose.skeleton import convert
    lm = np.random.default_rng(0).normal(size=(33, 3))
    lm[MEDIAPIPE33.index("nose")] = np.nan
    out = convert(lm, "mediapipe33", "h36m17")
    nan = {H36M17.names[j] for j in np.flatnonzero(np.isnan(out).any(-1))}
    assert nan == {"neck_nose", "head_top"}
    np.testing.assert_allclose(out[H36M17.index("l_wrist")], lm[MEDIAPIPE33.index("l_wrist")])


def test_image_track_cache_is_keyed_on_the_sapnet_weights(tmp_path, monkeypatch):
    """New SAP-Net weights must never be scored from a track cached with the old ones."""
    import structpose.models.sapnet as sapnet_model
    from structpose.analysis.tracks import cache_path
    video = tmp_path / "v.mp4"
    video.write_bytes(b"x")
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"old weights")
    monkeypatch.setattr(sapnet_model, "PRETRAINED", weights)
    old = cache_path(video, "image", tmp_path, None, sapnet=True)
    weights.write_bytes(b"new weights")
    new = cache_path(video, "image", tmp_path, None, sapnet=True)
    assert old != new
    # tracks without SAP-Net do not depend on its weights
    assert cache_path(video, "video", tmp_path, None) == cache_path(video, "video", tmp_path, None, sapnet=True)
    assert cache_path(video, "image", tmp_path, None, sapnet=False) != new
