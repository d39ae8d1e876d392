"""Realistic renderer: Anny retargeting and labels, pyrender geometry and compositing, the renders file.

Needs the `render` extra (`make setup` installs anny, pyrender, libosmesa6 and builds Anny's cache).
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from structpose.cameras import Camera, sample_virtual_camera
from structpose.cli import main
from structpose.errors import StructposeError
from structpose.render.anny_body import (
    CLIP_TO_ANNY,
    load_body,
    regress_h36m,
    rest_joints,
    rest_state,
    retarget,
    sample_shapes,
)
from structpose.render.anny_render import AnnyRenderer
from structpose.render.anny_scene import AnnyScenes, SceneConfig
from structpose.render.anny_textures import mesh_layout
from structpose.skeleton import H36M17

J = H36M17.index


@pytest.fixture(scope="module")
def body():
    return load_body()


@pytest.fixture(scope="module")
def frames(deepmimic_clips):
    rng = np.random.default_rng(5)
    return np.stack([c.world[rng.integers(c.num_frames)] for c in deepmimic_clips[:8]])


def test_retargeting_a_body_onto_its_own_rest_joints_gives_its_rest_mesh(body):
    # per-bone rest correction: frames built on the body's own rest joints map every bone onto itself
    shapes = sample_shapes(np.random.default_rng(0), 2)
    rest = rest_state(body, shapes)
    own = rest_joints(body, rest) @ CLIP_TO_ANNY        # Anny frame -> the clip's Y-up frame
    posed = retarget(body, own, shapes)
    rest_v = rest["rest_vertices"].numpy() @ CLIP_TO_ANNY
    shift = posed.joints[:, J("pelvis")] - own[:, J("pelvis")]
    assert np.abs(shift).max() < 1e-4
    assert np.abs(posed.vertices - rest_v).max() < 2e-4


def test_retargeted_limbs_point_where_the_mocap_limbs_point(body, frames):
    posed = retarget(body, frames, sample_shapes(np.random.default_rng(1), len(frames)))
    for a, b in (("l_hip", "l_knee"), ("r_knee", "r_ankle"), ("l_shoulder", "l_elbow"), ("r_elbow", "r_wrist")):
        u = frames[:, J(b)] - frames[:, J(a)]
        v = posed.joints[:, J(b)] - posed.joints[:, J(a)]
        cos = np.sum(u * v, -1) / np.linalg.norm(u, axis=-1) / np.linalg.norm(v, axis=-1)
        assert np.degrees(np.arccos(np.clip(cos, -1, 1))).mean() < 8.0, (a, b)
    # the body keeps its own size: bone lengths are Anny's, not the mocap's
    assert not np.allclose(np.linalg.norm(posed.joints[:, J("l_knee")] - posed.joints[:, J("l_hip")], axis=-1),
                           np.linalg.norm(frames[:, J("l_knee")] - frames[:, J("l_hip")], axis=-1), atol=0.01)


def test_retargeting_turns_with_the_mocap(body, frames):
    # a mocap pose turned about the vertical and moved gives the same body turned and moved
    shapes = sample_shapes(np.random.default_rng(2), len(frames))
    R = Rotation.from_euler("y", 70, degrees=True).as_matrix()
    move = np.array([1.0, 0.2, -3.0])
    a = retarget(body, frames, shapes)
    b = retarget(body, frames @ R.T + move, shapes)
    assert np.abs(a.joints @ R.T + move - b.joints).max() < 2e-3
    assert np.abs(a.vertices @ R.T + move - b.vertices).max() < 2e-3


def test_regressor_places_synthesised_joints_between_their_neighbours(body, frames):
    posed = retarget(body, frames, sample_shapes(np.random.default_rng(3), len(frames)))
    j = posed.joints
    np.testing.assert_allclose(j[:, J("pelvis")], 0.5 * (j[:, J("l_hip")] + j[:, J("r_hip")]), atol=1e-5)
    # head top: the highest point of the skull along the neck -> head direction, above the nose
    up = j[:, J("head_top")] - j[:, J("thorax")]
    assert (np.sum((j[:, J("head_top")] - j[:, J("neck_nose")]) * up, -1) > 0).all()
    head = body.vertex_bone == body.bone("Head")          # (a raised hand may reach higher)
    head_extent = np.max(np.einsum("bvi,bi->bv", posed.vertices[:, head] - j[:, None, J("thorax")],
                                   up / np.linalg.norm(up, axis=-1, keepdims=True)), axis=1)
    assert np.abs(head_extent - np.linalg.norm(up, axis=-1)).max() < 0.03
    # spine on the torso: within 10 cm of the pelvis-thorax segment (the rig spine lies near the back)
    a, b, p = j[:, J("pelvis")], j[:, J("thorax")], j[:, J("spine")]
    t = np.clip(np.sum((p - a) * (b - a), -1) / np.sum((b - a) ** 2, -1), 0, 1)
    assert np.linalg.norm(p - (a + t[:, None] * (b - a)), axis=-1).max() < 0.10


def test_regressor_input_checks(body):
    with pytest.raises(StructposeError, match="expected finite"):
        retarget(body, np.full((1, 17, 3), np.nan), sample_shapes(np.random.default_rng(0), 1))
    with pytest.raises(StructposeError, match="shapes have shape"):
        retarget(body, np.zeros((2, 17, 3)), sample_shapes(np.random.default_rng(0), 1))
    assert callable(regress_h36m)


@pytest.fixture(scope="module")
def rendered(body, frames):
    layout = mesh_layout(body, 256)
    grey = np.full((256, 256, 3), 128, np.uint8)
    r = AnnyRenderer(body, layout, [grey])
    posed = retarget(body, frames[:3], sample_shapes(np.random.default_rng(4), 3))
    out = []
    rng = np.random.default_rng(6)
    for i in range(3):
        cam = sample_virtual_camera(rng, posed.vertices[i][::20], image_sizes=((320, 240),), distance=(3, 5))
        bg = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
        img, depth = r.render(posed.vertices[i], cam, 0, bg)
        out.append((posed.joints[i], posed.vertices[i], cam, bg, img, depth))
    r.close()
    return out


def test_rendered_joints_project_onto_the_drawn_body_at_the_right_depth(rendered):
    for joints, _, cam, _, _, depth in rendered:
        jc = cam.world_to_camera(joints.astype(np.float64))
        uv = np.round(cam.project(jc)).astype(int)
        # pelvis, spine, hips, knees: inside the trunk or thighs, drawn unless another limb passes in front
        d = np.array([depth[v, u] for u, v in uv[[J("pelvis"), J("spine"), J("l_hip"), J("r_hip")]]])
        z = jc[[J("pelvis"), J("spine"), J("l_hip"), J("r_hip")], 2]
        assert (d > 0).mean() >= 0.75
        front = d[d > 0]
        # the surface seen there is nearer than the joint (which lies inside the body), by less than a torso
        assert ((z[d > 0] - front > -0.02) | (z[d > 0] - front > 0.3)).all()


def test_body_pixels_match_the_projected_mesh_extent(rendered):
    for _, verts, cam, _, _, depth in rendered:
        uv = cam.project(cam.world_to_camera(verts.astype(np.float64)))
        ys, xs = np.nonzero(depth > 0)
        assert abs(xs.min() - uv[:, 0].min()) < 2.5 and abs(xs.max() - uv[:, 0].max()) < 2.5
        assert abs(ys.min() - uv[:, 1].min()) < 2.5 and abs(ys.max() - uv[:, 1].max()) < 2.5
        # depth buffer in metres: the nearest drawn surface is the nearest vertex
        z = cam.world_to_camera(verts.astype(np.float64))[:, 2]
        assert abs(depth[depth > 0].min() - z.min()) < 0.02


def test_background_shows_exactly_where_no_body_is(rendered):
    from scipy.ndimage import binary_dilation
    for *_, bg, img, depth in rendered:
        far = ~binary_dilation(depth > 0, iterations=2)
        assert np.array_equal(img[far], bg[far])
        inside = depth > 0
        assert np.abs(img[inside].astype(int) - bg[inside].astype(int)).mean() > 20   # the body was drawn


def test_renders_file_labels_agree_through_the_camera(tmp_path):
    from structpose.train.render_pairs import generate, load_pairs
    out = tmp_path / "r.npz"
    meta = generate(out, 3, video_length=3, split="val", seed=1, image_size=(256, 192),
                    scene=SceneConfig(textures=2, texture_size=256))
    d = load_pairs(out)
    assert meta["frames"] == 3 and len(d["uv"]) == 3 and d["video"].all() and len(set(d["sequence"])) == 1
    cam = Camera(d["cam_R"][0].astype(np.float64), d["cam_t"][0].astype(np.float64),
                 d["focal"][0].astype(np.float64), d["centre"][0].astype(np.float64), (256, 192))
    np.testing.assert_allclose(cam.world_to_camera(d["joints_world"].astype(np.float64)), d["joints_cam"], atol=1e-4)
    np.testing.assert_allclose(cam.project(d["joints_cam"].astype(np.float64)), d["uv"], atol=1e-2)
    assert np.isnan(d["det_2d"][~d["det_found"]]).all() and np.isfinite(d["det_2d"][d["det_found"]]).all()
    assert set(np.unique(d["clip"])) <= {"deepmimic/getup_faceup", "deepmimic/kick", "deepmimic/walker_turn_left1",
                                         "holosoma/climb_seq_3"}


def test_renders_command_bad_input_is_one_line(tmp_path, capsys):
    assert main(["data", "renders", "--out", str(tmp_path / "x.npz"), "--frames", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--frames" in err[0]
    assert main(["data", "renders", "--out", str(tmp_path / "x.txt"), "--frames", "2"]) == 2
    assert "expected a .npz" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["data", "renders", "--out", str(tmp_path / "x.npz"), "--frames", "2", "--size", "10x10"])
    assert e.value.code == 2
    assert not (tmp_path / "x.npz").exists()


def test_load_pairs_refuses_other_files(tmp_path):
    from structpose.train.render_pairs import load_pairs
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(StructposeError, match="not a structpose renders file"):
        load_pairs(tmp_path / "other.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(StructposeError, match="cannot read"):
        load_pairs(tmp_path / "bad.npz")


def test_scene_sequence_shares_camera_and_body_over_time(body, deepmimic_clips):
    scenes = AnnyScenes(SceneConfig(image_size=(160, 120), textures=1, texture_size=128, edge_occlusion=0.0))
    try:
        clip = deepmimic_clips[0]
        seq = scenes.sequence(clip, 0, 3, np.random.default_rng(0))
        assert seq.images.shape == (3, 120, 160, 3)
        np.testing.assert_allclose(seq.source_world, clip.world[:3], atol=1e-5)
        # one body: bone lengths constant over the sequence
        lens = np.linalg.norm(seq.joints_world[:, J("l_knee")] - seq.joints_world[:, J("l_hip")], axis=-1)
        assert np.ptp(lens) < 0.01
        with pytest.raises(StructposeError, match="cannot take"):
            scenes.sequence(clip, clip.num_frames - 1, 3, np.random.default_rng(0))
    finally:
        scenes.close()
