"""MPII JSON, COCO keypoints JSON and OpenPose folders, written as the tools write them."""
from __future__ import annotations

import numpy as np
import pytest
from formats_builders import openpose_frame, project, write_json

from structpose.data.formats import detect_format, load_image_annotations, load_keypoints_2d, openpose
from structpose.data.keypoints import SYNTH_FACTOR_EXTRAPOLATED, SYNTH_FACTOR_INTERPOLATED
from structpose.errors import StructposeError
from structpose.skeleton import COCO17, H36M17, MPII16, convert

h = H36M17.index


@pytest.fixture(scope="module")
def pix(deepmimic_clips):
    """Real motion projected to pixels in H36M-17: (T, 17, 2), T = 12."""
    clip = next(c for c in deepmimic_clips if "kick" in c.name)
    return project(clip.in_camera()[:12].astype(np.float64))


def test_mpii_json_round_trip(tmp_path, pix):
    j16 = convert(pix, H36M17.name, MPII16.name)             # MPII-16 order, 0-based pixels
    vis = np.ones((len(pix), 16), int)
    vis[1, MPII16.index("l_wrist")] = 0
    recs = []
    for t in range(len(pix)):
        joints = j16[t] + 1                                    # the JSON is 1-based (MATLAB)
        joints[vis[t] == 0] = -1                               # MPII's placeholder for unannotated
        recs.append({"joints_vis": vis[t].tolist(), "joints": joints.tolist(), "image": f"{t:09d}.jpg",
                     "scale": 2.5, "center": [400.0, 300.0]})
    path = write_json(tmp_path / "train.json", recs)
    assert detect_format(path) == "mpii"
    ann = load_image_annotations(path)
    for name in ("r_ankle", "l_knee", "head_top", "r_wrist", "l_shoulder", "pelvis", "thorax"):
        ok = vis[:, MPII16.index(name)] > 0 if name in MPII16.names else np.ones(len(pix), bool)
        np.testing.assert_allclose(ann.joints_2d[ok, h(name)], pix[ok, h(name)], atol=1e-3)
    # MPII's upper neck stands in for neck/nose; the spine is synthesised half-way pelvis -> thorax
    np.testing.assert_allclose(ann.joints_2d[:, h("spine")], (pix[:, h("pelvis")] + pix[:, h("thorax")]) / 2, atol=1e-3)
    assert np.allclose(ann.visible[:, h("spine")], SYNTH_FACTOR_INTERPOLATED)
    assert np.isnan(ann.joints_2d[1, h("l_wrist")]).all() and ann.visible[1, h("l_wrist")] == 0
    np.testing.assert_allclose(ann.center, [[399.0, 299.0]] * len(pix))
    assert ann[0]["image"] == "000000000.jpg" and ann.scale[0] == pytest.approx(2.5)


def _coco_kps(xy17: np.ndarray, v: np.ndarray) -> list[float]:
    k = np.concatenate([np.where(v[:, None] > 0, xy17, 0), v[:, None]], 1)
    return k.reshape(-1).tolist()


def test_coco_ground_truth_sequence(tmp_path, pix):
    coco_xy = convert(pix, H36M17.name, COCO17.name)          # eyes/ears NaN: unlabelled (v = 0)
    T = len(pix)
    images = [{"id": 100 + t, "file_name": f"frame_{t:04d}.jpg", "width": 1000, "height": 1000}
              for t in reversed(range(T))]                    # listed out of order on purpose
    anns = []
    for t in range(T):
        v = np.where(np.isnan(coco_xy[t, :, 0]), 0, 2)
        v[COCO17.index("r_knee")] = 1                          # labelled but occluded: still exact
        anns.append({"id": t, "image_id": 100 + t, "category_id": 1, "iscrowd": 0, "area": 5000.0,
                     "bbox": [0, 0, 100, 50], "num_keypoints": int((v > 0).sum()),
                     "keypoints": _coco_kps(np.nan_to_num(coco_xy[t]), v)})
        # a smaller bystander and a crowd region in every frame: neither is the main person
        anns.append({"id": 1000 + t, "image_id": 100 + t, "category_id": 1, "iscrowd": 0, "area": 10.0,
                     "bbox": [0, 0, 5, 2], "num_keypoints": 17, "keypoints": _coco_kps(np.zeros((17, 2)) + 7, np.full(17, 2))})
        anns.append({"id": 2000 + t, "image_id": 100 + t, "category_id": 1, "iscrowd": 1, "area": 1e6,
                     "bbox": [0, 0, 999, 999], "num_keypoints": 0, "keypoints": [0] * 51})
    images.append({"id": 999, "file_name": "empty.jpg", "width": 1000, "height": 1000})
    data = {"info": {}, "images": images, "annotations": anns,
            "categories": [{"id": 1, "name": "person", "keypoints": list(COCO17.names), "skeleton": []}]}
    path = write_json(tmp_path / "person_keypoints_val.json", data)
    assert detect_format(path) == "coco"
    (k,) = load_keypoints_2d(path)
    assert k.num_frames == T + 1 and k.image_size == (1000, 1000)
    assert k.meta["images"][:2] == ["frame_0000.jpg", "frame_0001.jpg"] and k.meta["images"][-1] == "empty.jpg"
    for name in ("l_shoulder", "r_knee", "l_ankle", "r_wrist", "l_hip"):
        np.testing.assert_allclose(k.xy[:T, h(name)], pix[:, h(name)], atol=1e-3)
        assert (k.scores[:T, h(name)] == 1).all()
    # head top extrapolated from nose and shoulders, with the extrapolation score
    want = 1.6 * pix[:, h("neck_nose")] - 0.3 * (pix[:, h("l_shoulder")] + pix[:, h("r_shoulder")])
    np.testing.assert_allclose(k.xy[:T, h("head_top")], want, atol=1e-3)
    assert np.allclose(k.scores[:T, h("head_top")], SYNTH_FACTOR_EXTRAPOLATED)
    assert np.isnan(k.xy[T]).all() and not k.valid[T] and k.valid[:T].all()


def test_coco_results_pick_highest_score(tmp_path, pix):
    coco_xy = np.nan_to_num(convert(pix[:2], H36M17.name, COCO17.name))
    res = []
    for t in range(2):
        for score, shift in ((0.3, 50.0), (0.9, 0.0)):
            k = np.concatenate([coco_xy[t] + shift, np.full((17, 1), 0.7)], 1)
            res.append({"image_id": t, "category_id": 1, "keypoints": k.reshape(-1).tolist(), "score": score})
    path = write_json(tmp_path / "results.json", res)
    (k,) = load_keypoints_2d(path, "coco")
    np.testing.assert_allclose(k.xy[:, h("l_elbow")], pix[:2, h("l_elbow")], atol=1e-3)
    assert np.allclose(k.scores[:, h("l_elbow")], 0.7)


BODY25_FROM_H36M = {"nose": "neck_nose", "neck": "thorax", "mid_hip": "pelvis"}


def _body25(p17: np.ndarray, conf: float = 0.9) -> np.ndarray:
    out = np.zeros((25, 3))
    for i, n in enumerate(openpose.BODY25):
        src = BODY25_FROM_H36M.get(n, n)
        if src in H36M17.names:
            out[i, :2], out[i, 2] = p17[h(src)], conf
    return out


def test_openpose_folder_body25(tmp_path, pix):
    folder = tmp_path / "op"
    T = len(pix)
    for t in range(T):
        people = [] if t == 4 else [_body25(pix[t])]
        if t == 6:                                             # a bystander with more confidence
            people.insert(0, _body25(pix[t] + 300, conf=1.0))
        write_json(folder / f"video_{t:012d}_keypoints.json", openpose_frame(people))
    assert detect_format(folder) == "openpose"
    (k,) = load_keypoints_2d(folder)
    assert k.num_frames == T and k.meta["model"] == "BODY_25" and k.meta["frames"][10] == f"video_{10:012d}_keypoints.json"
    ok = np.arange(T) != 4
    for name in ("pelvis", "thorax", "neck_nose", "r_shoulder", "l_wrist", "r_ankle", "l_knee"):
        np.testing.assert_allclose(k.xy[ok, h(name)], pix[ok, h(name)], atol=1e-3)
    assert np.isnan(k.xy[4]).all() and (k.scores[4] == 0).all()
    # sides by geometry: the camera faces the subject, its right shoulder is at smaller u
    assert (k.xy[ok, h("r_shoulder"), 0] < k.xy[ok, h("l_shoulder"), 0]).mean() > 0.5


def test_openpose_coco18_and_missing_joint(tmp_path, pix):
    names = openpose.COCO18
    folder = tmp_path / "op18"
    for t in range(3):
        k = np.zeros((18, 3))
        for i, n in enumerate(names):
            src = BODY25_FROM_H36M.get(n, n)
            if src in H36M17.names:
                k[i] = [*pix[t, h(src)], 0.8]
        if t == 1:
            k[names.index("r_hip")] = 0                        # undetected
        write_json(folder / f"clip_{t}_keypoints.json", openpose_frame([k]))
    (kp,) = load_keypoints_2d(folder)
    np.testing.assert_allclose(kp.xy[[0, 2], 0], (pix[[0, 2], h("l_hip")] + pix[[0, 2], h("r_hip")]) / 2, atol=1e-3)
    assert np.isnan(kp.xy[1, [0, h("r_hip"), h("spine")]]).all()
    assert np.isfinite(kp.xy[1, h("l_hip")]).all()


@pytest.mark.parametrize("case", ["empty_dir", "not_motion", "truncated", "wrong_count", "empty_file"])
def test_bad_2d_inputs(tmp_path, case):
    if case == "empty_dir":
        target = tmp_path / "nothing"
        target.mkdir()
        (target / "readme.txt").write_text("hi")
    elif case == "not_motion":
        target = write_json(tmp_path / "package.json", {"name": "x", "version": "1.0", "dependencies": {}})
    elif case == "truncated":
        target = tmp_path / "t.json"
        target.write_text('{"images": [], "annotations": [{"image_id": 1, "keypoints": [1, 2')
    elif case == "wrong_count":
        target = tmp_path / "op"
        write_json(target / "a_0_keypoints.json", openpose_frame([np.zeros((20, 3))]))
    else:
        target = tmp_path / "e.json"
        target.write_bytes(b"")
    with pytest.raises(StructposeError) as e:
        load_keypoints_2d(target)
    assert "\n" not in str(e.value)


def test_keypoints2d_invariant_without_touching_inputs():
    from structpose.data.keypoints import Keypoints2D
    xy = np.ones((2, 17, 2), np.float32)
    sc = np.ones((2, 17), np.float32)
    xy[0, 3] = np.nan                     # NaN position -> score 0
    sc[1, 5] = 0.0                        # score 0 -> NaN position
    k = Keypoints2D(xy=xy, scores=sc)
    assert k.scores[0, 3] == 0 and np.isnan(k.xy[1, 5]).all()
    assert sc[0, 3] == 1 and np.isfinite(xy[1, 5]).all()     # the caller's arrays are unchanged
    with pytest.raises(StructposeError):
        Keypoints2D(xy=np.zeros((2, 16, 2)), scores=np.zeros((2, 16)))
