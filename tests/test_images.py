"""Image datasets: crop geometry, augmentation (flip with left/right swap, scale, rotation), targets,
photo datasets on disk and bad files."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from structpose.data.images import FLIP, AnnotatedImages, Augment, RenderedImages, load_image, make_sample
from structpose.errors import StructposeError
from structpose.render import render_dataset


@pytest.fixture(scope="module")
def renders(deepmimic_clips):
    return render_dataset(deepmimic_clips[:3], 4, 64, seed=0)


def test_flip_mirrors_image_and_swaps_left_right(renders):
    ds = RenderedImages(renders, True, 64)
    base = ds[0]
    flip = make_sample(renders["images"][0], renders["uv"][0], ds.z[0], np.array([31.5, 31.5]), 64.0, 64,
                       np.random.default_rng(0), Augment(0, 0, 0, 1.0, 0))
    assert np.allclose(flip["image"].numpy(), base["image"].numpy()[:, :, ::-1], atol=1e-6)
    # joint j of the flipped sample is the mirror of its twin FLIP[j]
    assert np.allclose(flip["xy"][:, 0], -base["xy"][FLIP, 0], atol=1e-5)
    assert np.allclose(flip["xy"][:, 1], base["xy"][FLIP, 1], atol=1e-5)
    assert np.allclose(flip["z"], base["z"][FLIP])


def test_scale_and_rotation_preserve_3d_shape(renders):
    ds = RenderedImages(renders, True, 64)
    base = ds[1]
    aug = make_sample(renders["images"][1], renders["uv"][1], ds.z[1], np.array([31.5, 31.5]), 64.0, 64,
                      np.random.default_rng(5), Augment(0.25, 30, 1.0, 0, 0))
    p0 = np.concatenate([base["xy"], base["z"][:, None]], 1)
    p1 = np.concatenate([aug["xy"], aug["z"][:, None]], 1)
    d0 = np.linalg.norm(p0[:, None] - p0[None], axis=-1)
    d1 = np.linalg.norm(p1[:, None] - p1[None], axis=-1)
    ratio = d1[d0 > 1e-3] / d0[d0 > 1e-3]
    # an in-plane rotation about z and a zoom: every pairwise 3D distance scales by one factor
    assert ratio.std() / ratio.mean() < 1e-4
    assert abs(ratio.mean() - 1) > 1e-3


def test_2d_only_samples_carry_no_depth(renders):
    s = RenderedImages(renders, False, 64)[0]
    assert float(s["has3d"]) == 0 and float(s["z"].abs().sum()) == 0


def test_annotated_photos_on_disk(tmp_path):
    img = np.zeros((120, 160, 3), np.uint8)
    uv = np.full((17, 2), np.nan)
    uv[3] = [90.0, 70.0]
    cv2.circle(img, (90, 70), 2, (255, 255, 255), -1)
    p = tmp_path / "a.png"
    cv2.imwrite(str(p), img)
    ds = AnnotatedImages([p], np.array([[80.0, 60.0]]), np.array([100.0]), uv[None], 64)
    s = ds[0]
    assert float(s["weight"][3]) == 1 and float(s["weight"].sum()) == 1     # unlabelled joints weigh 0
    # the dot is at the labelled joint's crop position
    im = s["image"].numpy().sum(0)
    y, x = np.unravel_index(im.argmax(), im.shape)
    exp = (np.array([90.0, 70.0]) - [80, 60]) * 64 / 100 + 31.5
    assert abs(x - exp[0]) <= 1.5 and abs(y - exp[1]) <= 1.5
    with pytest.raises(StructposeError, match="shape"):
        AnnotatedImages([p], np.zeros((2, 2)), np.array([1.0]), uv[None], 64)


def test_bad_image_files(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff garbage")
    with pytest.raises(StructposeError, match="not a readable image"):
        load_image(bad)
    with pytest.raises(StructposeError, match="no such image file"):
        load_image(tmp_path / "nope.png")
    grey = tmp_path / "grey.png"
    cv2.imwrite(str(grey), np.full((20, 30), 128, np.uint8))
    assert load_image(grey).shape == (20, 30, 3)          # files: greyscale is expanded to RGB


def _project(cam, f, c):
    return cam[..., :2] / cam[..., 2:] * f + c


def test_focal_from_correspondences_is_exact(deepmimic_camera_poses):
    cam = deepmimic_camera_poses[:5].astype(np.float64) + np.array([0.0, 0.0, 4.0])
    f = np.array([500.0, 800.0, 1145.0, 300.0, 2000.0])
    uv = _project(cam, f[:, None, None], np.array([320.0, 240.0]))
    uv[0, 3] = np.nan                                      # an unlabelled joint is ignored
    from structpose.data.images import focal_from_correspondences
    assert np.allclose(focal_from_correspondences(uv, cam), f, rtol=1e-6)


def test_h36m_mmpose_and_mpii_files_on_disk(tmp_path, deepmimic_camera_poses):
    """Tiny fixtures in the exact formats: mmpose h36m npz (3D) and MPII JSON (2D-only)."""
    import json as _json

    from structpose.data.images import annotated_images
    from structpose.skeleton import convert
    cam = deepmimic_camera_poses[[10, 200]].astype(np.float64) + np.array([0.0, 0.0, 4.0])
    uv = _project(cam, 1145.0, np.array([512.0, 515.0]))
    root = tmp_path / "images"
    (root / "S1").mkdir(parents=True)
    names = ["S1/S1_Walking_1.54138969_000001.jpg", "S1/S1_Walking_1.54138969_000006.jpg"]
    for n in names:
        cv2.imwrite(str(root / n), np.full((1000, 1000, 3), 90, np.uint8))
    np.savez(tmp_path / "h36m_train.npz", imgname=np.array(names), center=uv.mean(1),
             scale=np.ptp(uv, 1).max(-1) * 1.2 / 200,
             part=np.concatenate([uv, np.ones((2, 17, 1))], -1), S=np.concatenate([cam, np.ones((2, 17, 1))], -1))
    ds = annotated_images(tmp_path / "h36m_train.npz", root, 64, three_d=True)
    s = ds[0]
    assert float(s["has3d"]) == 1
    # depth in crop units: z_n * side_px * Z_root / f = metres
    side = float(ds.sides[0])
    dz = s["z"].numpy() * side * cam[0, 0, 2] / 1145.0
    assert np.allclose(dz, cam[0, :, 2] - cam[0, 0, 2], atol=1e-4)
    # MPII JSON: 16 joints (MPII order), 1-based pixels, one annotation missing
    mpii16 = convert(uv[:1].astype(np.float32), "h36m17", "mpii16")[0]
    rec = {"image": "S1/" + names[0].split("/")[1], "joints": (mpii16 + 1).tolist(), "joints_vis": [1] * 15 + [0],
           "center": (uv[0].mean(0) + 1).tolist(), "scale": 2.0}
    (tmp_path / "train.json").write_text(_json.dumps([rec]))
    ds2 = annotated_images(tmp_path / "train.json", root, 64, three_d=False)
    s2 = ds2[0]
    assert float(s2["has3d"]) == 0 and 0 < float(s2["weight"].sum()) < 17
    with pytest.raises(StructposeError, match="no 3D labels"):
        annotated_images(tmp_path / "train.json", root, 64, three_d=True)
    with pytest.raises(StructposeError, match="image folder"):
        annotated_images(tmp_path / "h36m_train.npz", tmp_path / "nope", 64, three_d=True)
