"""SAP-Net data for real photos: realism effects, crop sets (renders + real frames), their datasets.

Each test builds its input: synthetic images with marks where the joints are, points above a floor,
a moving blob on a still background, and (needs the `render` extra) one realistic Anny still.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from structpose.cameras import Camera, look_at
from structpose.codec import crop_affine, depth_target
from structpose.data.images import Augment
from structpose.errors import StructposeError
from structpose.render.anny_realism import RealismConfig, motion_blur, shadow_mask
from structpose.train.sapnet_crops import (
    CONTEXT,
    STORE,
    CropSet,
    context_crop,
    crop_sets,
    eval_arrays,
    moving_people,
    product_box,
)


def _camera(eye=(0.0, 1.5, 4.0), target=(0.0, 0.5, 0.0), size=(320, 240)) -> Camera:
    R, t = look_at(np.array(eye), np.array(target))
    return Camera(R, t, np.array([300.0, 300.0]), np.array([size[0] / 2, size[1] / 2]), size)


def test_vertical_light_casts_the_footprint_straight_down():
    cam = _camera()
    rng = np.random.default_rng(0)
    pts = np.c_[rng.uniform(-0.2, 0.2, 500), rng.uniform(0.0, 1.7, 500), rng.uniform(-0.1, 0.1, 500)]
    mask = shadow_mask(cam, pts, 0.0, np.array([0.0, -1.0, 0.0]), softness_px=1.0)
    # the footprint is the points' x/z box on the floor: its projected centre is where the mask is
    centre = cam.project(cam.world_to_camera(np.array([0.0, 0.0, 0.0])))
    ys, xs = np.nonzero(mask > 0.5)
    assert abs(xs.mean() - centre[0]) < 3 and abs(ys.mean() - centre[1]) < 3
    corners = cam.project(cam.world_to_camera(np.array([[-0.2, 0, 0], [0.2, 0, 0]])))
    assert abs((xs.max() - xs.min()) - abs(corners[1, 0] - corners[0, 0])) < 4


def test_slanted_light_moves_the_shadow_away_from_the_light():
    cam = _camera()
    pts = np.array([[0.0, h, 0.0] for h in np.linspace(0, 1.7, 50)]) + np.array([[0.05, 0, 0.05]])
    pts = np.concatenate([pts, pts - [0.1, 0, 0], pts - [0, 0, 0.1]])
    d = np.array([0.5, -1.0, 0.0])                     # light travels towards +x
    mask = shadow_mask(cam, pts, 0.0, d / np.linalg.norm(d), softness_px=1.0)
    tip = cam.project(cam.world_to_camera(np.array([0.85, 0.0, 0.0])))   # top of the pole lands at x = 1.7 * 0.5
    xs = np.nonzero(mask > 0.5)[1]
    assert xs.max() == pytest.approx(tip[0], abs=6)


def test_shadow_behind_the_camera_is_empty():
    cam = _camera()
    pts = np.array([[0.0, 1.0, 6.0], [0.1, 1.0, 6.0], [0.0, 1.2, 6.1]])      # behind the eye at z = 4
    assert shadow_mask(cam, pts, 0.0, np.array([0.0, -1.0, 0.0]), 1.0).sum() == 0


def test_motion_blur_keeps_flat_images_and_smears_a_dot_along_its_direction():
    flat = np.full((40, 40, 3), 90, np.uint8)
    assert np.abs(motion_blur(flat, 7, 33.0).astype(int) - 90).max() <= 1
    dot = np.zeros((41, 41, 3), np.uint8)
    dot[20, 20] = 255
    horiz = motion_blur(dot, 9, 0.0)[..., 0]
    ys, xs = np.nonzero(horiz)
    assert set(ys) == {20} and xs.min() == 16 and xs.max() == 24
    vert = motion_blur(dot, 9, 90.0)[..., 0]
    ys, xs = np.nonzero(vert > 5)
    assert xs.min() >= 19 and xs.max() <= 21 and ys.max() - ys.min() >= 6


def _marked_image(uv: np.ndarray, size=(400, 300)) -> np.ndarray:
    img = np.zeros((size[1], size[0], 3), np.uint8)
    for u, v in uv:
        cv2.circle(img, (round(u), round(v)), 2, (255, 255, 255), -1)
    return img


def _pose_uv(rng) -> np.ndarray:
    return np.c_[rng.uniform(150, 250, 17), rng.uniform(60, 240, 17)]


def test_context_crop_keeps_every_joint_on_its_mark_and_the_product_crop_in_the_middle():
    rng = np.random.default_rng(1)
    uv = _pose_uv(rng)
    crop, uv_c, side = context_crop(_marked_image(uv), uv)
    assert crop.shape == (STORE, STORE, 3)
    for u, v in uv_c:
        assert crop[round(v), round(u)].max() > 100
    # the product's crop: 1.25 x the joints' box, i.e. STORE / CONTEXT pixels of the stored crop
    span = (uv.max(0) - uv.min(0)).max()
    assert side == pytest.approx(1.25 * span)
    assert (uv_c.max(0) - uv_c.min(0)).max() == pytest.approx(STORE / CONTEXT / 1.25, rel=1e-3)


def test_product_box_ignores_unlabelled_joints():
    uv = np.array([[10.0, 10.0], [30.0, 50.0]] + [[20.0, 20.0]] * 15)
    with_nan = uv.copy()
    with_nan[5] = np.nan
    assert product_box(with_nan)[1] == product_box(uv)[1] == pytest.approx(50.0)


def _crop_set(n: int, three_d: bool, rng) -> dict[str, np.ndarray]:
    cols = {"images": [], "uv": [], "z": [], "joints_cam": []}
    for _ in range(n):
        cam = rng.normal(0, 0.3, (17, 3)) + [0, 0, 4.0]
        uv = cam[:, :2] / cam[:, 2:] * 300 + [200, 150]
        img = _marked_image(uv)
        crop, uv_c, side = context_crop(img, uv)
        cols["images"].append(crop)
        cols["uv"].append(uv_c)
        cols["z"].append(depth_target(cam, 300.0, 1) / side)
        cols["joints_cam"].append(cam.astype(np.float32))
    out = {k: np.stack(v) for k, v in cols.items()}
    if not three_d:
        del out["z"], out["joints_cam"]
        out["uv"][:, 3] = np.nan
    return out


def test_crop_set_samples_put_heatmap_peaks_on_the_joints_and_keep_depth_in_crop_units():
    rng = np.random.default_rng(2)
    a = _crop_set(3, True, rng)
    ds = CropSet(a, True, 128, Augment.none())
    s = ds[1]
    A = crop_affine(np.array([(STORE - 1) / 2] * 2), STORE / CONTEXT, 128)
    want = a["uv"][1] @ A[:, :2].T + A[:, 2]
    hm = s["heatmaps"].numpy()
    peaks = np.stack([np.unravel_index(h.argmax(), h.shape)[::-1] for h in hm]) * 4 + 1.5
    inside = s["weight"].numpy() > 0
    assert np.abs(peaks - want)[inside].max() <= 2.5
    np.testing.assert_allclose(s["z"].numpy(), a["z"][1], rtol=1e-6)
    assert float(s["has3d"]) == 1.0


def test_two_d_crop_set_has_no_depth_and_unlabelled_joints_weigh_nothing():
    rng = np.random.default_rng(3)
    a = _crop_set(2, False, rng)
    s = CropSet(a, False, 128, Augment.none())[0]
    assert float(s["has3d"]) == 0.0 and s["weight"][3] == 0 and np.all(s["z"].numpy() == 0)
    for i in range(4):                  # flips move the unlabelled ankle to the other side, never label it
        assert float(CropSet(a, False, 128, Augment(), seed=i)[0]["weight"].sum()) <= 16
    with pytest.raises(StructposeError, match="no depth labels"):
        CropSet(a, True, 128)


def test_crop_sets_from_files_and_eval_arrays(tmp_path):
    rng = np.random.default_rng(4)
    a3, a2 = _crop_set(4, True, rng), _crop_set(3, False, rng)
    np.savez(tmp_path / "a3.npz", **a3)
    np.savez(tmp_path / "a2.npz", **a2)
    sets = crop_sets({"crops": {"3d": str(tmp_path / "a3.npz"), "2d": str(tmp_path / "a2.npz"),
                                "test": str(tmp_path / "a3.npz")}}, 128, 0)
    assert len(sets["3d"]) == 4 and len(sets["2d"]) == 3
    # the evaluation crop is the product crop: the joints' box spans 1 / 1.25 of it
    ev = sets["test"]
    span = (ev["uv"].max(1) - ev["uv"].min(1)).max(-1)
    np.testing.assert_allclose(span, 128 / 1.25, rtol=1e-3)
    bone = np.linalg.norm(a3["joints_cam"][:, 1] - a3["joints_cam"][:, 0], axis=-1)
    assert sets["bone_sum"] > bone.mean()
    with pytest.raises(StructposeError, match="'3d' and '2d'"):
        crop_sets({"crops": {"3d": str(tmp_path / "a3.npz")}}, 128, 0)
    assert eval_arrays(a3, 64)["images"].shape == (4, 64, 64, 3)


def test_moving_people_finds_a_walking_blob_on_a_still_background():
    rng = np.random.default_rng(5)
    bg = rng.integers(0, 60, (200, 320, 3)).astype(np.uint8)
    frames = []
    for t in range(60):
        f = bg.copy()
        x = 20 + 3 * t
        cv2.rectangle(f, (x, 60), (x + 25, 150), (220, 200, 180), -1)
        frames.append(f)
    boxes = moving_people(frames, min_height=60)
    last = boxes[-1]
    assert len(last) == 1
    x0, y0, _, y1 = last[0]
    assert abs(x0 - (20 + 3 * 59)) <= 6 and abs(y0 - 60) <= 6 and abs(y1 - 151) <= 8


def test_realistic_still_labels_project_through_its_camera(deepmimic_clips):
    from structpose.render.anny_realism import realistic_still
    from structpose.render.anny_scene import AnnyScenes, SceneConfig
    scenes = AnnyScenes(SceneConfig(image_size=(160, 120), textures=2, texture_size=128), seed=0)
    try:
        rc = RealismConfig(shadow=1.0, second_person=1.0, occluder=1.0, motion_blur=1.0, noise=1.0, jpeg=1.0)
        rng = np.random.default_rng(6)
        st = None
        for _ in range(6):              # a shadow needs the body near the floor: walk frames are
            clip = next(c for c in deepmimic_clips if c.name.endswith("/walk"))
            st = realistic_still(scenes, clip, int(rng.integers(clip.num_frames)), rng, rc, [clip])
            if "shadow" in st.effects:
                break
    finally:
        scenes.close()
    assert st.image.shape == (120, 160, 3)
    np.testing.assert_allclose(st.camera.project(st.joints_cam.astype(np.float64)), st.uv, atol=1e-3)
    assert {"occluder", "motion_blur", "noise", "jpeg", "shadow"} <= set(st.effects)
    assert not (st.unoccluded & ~st.in_image).any()


def test_structure_terms_skip_two_d_samples_with_an_unlabelled_joint():
    import torch

    from structpose.train.sapnet import compute_losses

    rng = np.random.default_rng(7)
    xy = torch.tensor(rng.uniform(-0.3, 0.3, (3, 17, 2)), dtype=torch.float32)
    z = torch.tensor(rng.normal(0, 0.1, (3, 17)), dtype=torch.float32)

    class Fixed(torch.nn.Module):
        def __init__(self, n):
            super().__init__()
            self.z = torch.nn.Parameter(z[:n].clone())

        def forward(self, image):
            return torch.zeros(len(image), 1, 17, 32, 32) + 0 * self.z.sum(), self.z

    def batch(n, xy_):
        return {"image": torch.zeros(n, 3, 128, 128), "heatmaps": torch.zeros(n, 17, 32, 32),
                "weight": torch.ones(n, 17), "xy": xy_[:n], "z": torch.zeros(n, 17), "has3d": torch.zeros(n)}

    w = {"heatmap": 1.0, "lambda_g": 0.1, "lambda_a": 0.1, "lambda_s": 0.1}
    canon = torch.full((16,), 0.1)
    bad = xy.clone()
    bad[1, 3] = -1e6 / 100          # an unlabelled joint, as CropSet / AnnotatedImages send it
    with_bad = compute_losses(Fixed(2), batch(2, bad), w, canon)["structure"].detach()
    alone = compute_losses(Fixed(1), batch(1, xy), w, canon)["structure"].detach()
    assert torch.isfinite(with_bad) and float(with_bad) == pytest.approx(float(alone), rel=1e-5)
    both = compute_losses(Fixed(2), batch(2, xy), w, canon)["structure"].detach()
    assert float(both) != pytest.approx(float(alone), rel=1e-3)      # a labelled second sample does count
