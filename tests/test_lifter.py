"""The lifter: normalisation invariances, masks, camera placement, shipped weights on held-out real motion."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from structpose.cameras import look_at
from structpose.errors import StructposeError
from structpose.geometry import similarity_procrustes
from structpose.models.lifter import Lifter, LifterConfig, load_lifter, normalise_2d, save_lifter
from structpose.pipeline.lifting import PoseLifter, focal_from_fov
from structpose.skeleton import H36M17

F = 800.0


@pytest.fixture(scope="module")
def heldout_views():
    """Held-out real motion (test clips of data.splits) seen by a front-left camera: (cam poses, uv)."""
    from structpose.data.sources import load_clips
    from structpose.data.splits import split_clips
    test = split_clips(load_clips(("deepmimic",)))["test"]
    cams, uvs = [], []
    for c in test:
        w = np.asarray(c.world[::3], float)
        target = w[:, 0].mean(0)
        R, t = look_at(target + np.array([3.0, 0.3, 4.0]), target)
        cam = w @ R.T + t
        cams.append(cam), uvs.append(cam[..., :2] / cam[..., 2:] * F)
    return np.concatenate(cams).astype(np.float32), np.concatenate(uvs).astype(np.float32)


def _pa(p, t):
    return float(np.linalg.norm(similarity_procrustes(p, t, warn=False).aligned - t, axis=-1).mean())


def test_normalisation_is_invariant_to_image_translation_and_scale():
    rng = np.random.default_rng(0)
    xy = torch.as_tensor(rng.normal(size=(5, 17, 2)) * 50 + 300, dtype=torch.float32)
    m = torch.ones(5, 17)
    m[0, 13] = 0
    a, _, _, _ = normalise_2d(xy, m)
    b, _, _, _ = normalise_2d(xy * 2.5 + torch.tensor([40.0, -70.0]), m)
    assert torch.allclose(a, b, atol=1e-5)
    assert a[0, 13].abs().sum() == 0                      # a masked joint carries no position
    # the masked joint's value is irrelevant, even NaN
    xy2 = xy.clone()
    xy2[0, 13] = float("nan")
    c, _, _, _ = normalise_2d(xy2, m)
    assert torch.allclose(a, c, atol=1e-6)


def test_output_is_root_relative_and_ignores_image_placement(heldout_views):
    model = load_lifter()
    _, uv = heldout_views
    p1 = model.lift(uv[:50])
    p2 = model.lift(uv[:50] * 0.5 + 123.0)
    assert np.allclose(p1[:, 0], 0, atol=1e-6)
    assert np.allclose(p1, p2, atol=1e-4)


def test_shipped_lifter_beats_the_zero_depth_floor_on_heldout_real_motion(heldout_views):
    """Held-out clips: PA-MPJPE well below a pose with the true x, y and no depth at all."""
    cam, uv = heldout_views
    rel = cam - cam[:, :1]
    pred = load_lifter().lift(uv)
    flat = rel.copy()
    flat[..., 2] = 0
    floor, ours = _pa(flat, rel), _pa(pred, rel)
    assert ours < 0.75 * floor, (ours, floor)
    # and metric size comes out roughly right (within 25 %: no intrinsics, one training body)
    size = lambda p: np.linalg.norm(p - p.mean(1, keepdims=True), axis=-1).mean()
    assert 0.75 < size(pred) / size(rel) < 1.25


def test_missing_joints_are_predicted_not_zeroed(heldout_views):
    cam, uv = heldout_views
    rel = cam - cam[:, :1]
    model = load_lifter()
    mask = np.ones(uv.shape[:2], np.float32)
    wr = H36M17.index("l_wrist")
    mask[:, wr] = 0
    pred = model.lift(uv, mask)
    assert np.isfinite(pred).all()
    aligned = similarity_procrustes(pred, rel, warn=False).aligned
    err = np.linalg.norm(aligned[:, wr] - rel[:, wr], axis=-1).mean()
    # an unseen wrist is a guess, but an informed one: closer than the arm's whole reach (~0.55 m)
    assert err < 0.45, err
    assert np.abs(pred[:, wr]).sum(-1).min() > 1e-3      # never put at the root / zero
    # and the rest of the pose stays far better than having no depth at all
    flat = rel.copy()
    flat[..., 2] = 0
    assert _pa(pred, rel) < 0.85 * _pa(flat, rel)


def test_too_few_joints_give_nan(heldout_views):
    _, uv = heldout_views
    mask = np.zeros((1, 17), np.float32)
    mask[0, :3] = 1
    assert np.isnan(load_lifter().lift(uv[:1], mask)).all()


def test_camera_placement_reprojects_onto_the_pelvis(heldout_views):
    """The camera-frame root, projected with the assumed focal length, lands on the 2D pelvis
    (which the lifter, like the detectors, takes as the midpoint of the 2D hips)."""
    _, uv = heldout_views
    size = (1000, 800)
    pix = uv[:20] + np.array([500.0, 400.0], np.float32)
    pl = PoseLifter(fov_deg=60.0)
    cam, rel = pl(pix, np.ones(pix.shape[:2]), size)
    f = focal_from_fov(size, 60.0)
    proj = cam[:, 0, :2] / cam[:, 0, 2:] * f + np.array([500.0, 400.0])
    hips = 0.5 * (pix[:, H36M17.index("l_hip")] + pix[:, H36M17.index("r_hip")])
    assert np.allclose(proj, hips, atol=0.02)
    assert np.allclose(cam - cam[:, :1], rel, atol=1e-5)
    # doubling the focal length doubles the root depth; without the on-axis rotation the pose is
    # untouched, with it the pose only turns (the viewing rays change), so its shape is the same
    for on_axis in (False, True):
        c1, r1 = PoseLifter(fov_deg=60.0, on_axis=on_axis)(pix, None, size)
        c2, r2 = PoseLifter(focal_px=2 * f, on_axis=on_axis)(pix, None, size)
        assert np.allclose(c2[:, 0, 2], 2 * c1[:, 0, 2], rtol=1e-4 if not on_axis else 1e-2)
        if not on_axis:
            assert np.allclose(r2, r1, atol=1e-5)
        d1 = np.linalg.norm(r1[:, :, None] - r1[:, None], axis=-1)
        d2 = np.linalg.norm(r2[:, :, None] - r2[:, None], axis=-1)
        assert np.allclose(d1, d2, atol=0.02)        # the same body, at most turned


def test_on_axis_rotation_makes_lifting_equivariant_to_where_the_person_stands(heldout_views):
    """A person seen off to the side is the centred person seen by a camera turned about its centre:
    the same 3D pose rotated.  Re-projecting to the axis before lifting must recover that rotation
    far better than lifting the off-centre 2D as it is (which turns the pose by the ray angle)."""
    from scipy.spatial.transform import Rotation
    _, uv = heldout_views
    size, f = (1000, 800), 800.0
    c = np.array([500.0, 400.0])
    pix = (uv[:40] - uv[:40].mean(1, keepdims=True)) * 0.8 + c   # people at the image centre
    Q = Rotation.from_euler("yx", [24, -14], degrees=True).as_matrix()
    rays = np.concatenate([(pix - c) / f, np.ones(pix.shape[:2] + (1,))], -1) @ Q.T
    off = (rays[..., :2] / rays[..., 2:] * f + c).astype(np.float32)   # the same people, turned camera
    errs = {}
    for on_axis in (False, True):
        pl = PoseLifter(focal_px=f, on_axis=on_axis)
        _, r_c = pl(pix.astype(np.float32), None, size)
        _, r_o = pl(off, None, size)
        errs[on_axis] = float(np.linalg.norm(r_o - r_c @ Q.T, axis=-1).mean())
    assert errs[True] < 0.25 * errs[False]            # exact up to a twist about the ray


def test_bad_inputs_and_checkpoints(tmp_path):
    with pytest.raises(StructposeError, match="expected"):
        load_lifter().lift(np.zeros((3, 16, 2)))
    with pytest.raises(StructposeError, match="no lifter weights"):
        load_lifter(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(StructposeError, match="not a structpose lifter"):
        load_lifter(tmp_path / "junk.pt")
    m = Lifter(LifterConfig(hidden=32, blocks=1))
    p = save_lifter(tmp_path / "small.pt", m, half=False)
    m2 = load_lifter(p)
    x = torch.randn(4, 17, 2)
    mask = torch.ones(4, 17)
    assert torch.allclose(m.eval()(x, mask)[0], m2(x, mask)[0])


def test_training_runs_stages_and_writes_config_beside_weights(tmp_path, deepmimic_clips):
    from structpose.train.lifter import LifterTrainConfig, Stage, train
    cfg = LifterTrainConfig(sources=["deepmimic"], weak_clips=["deepmimic/roll"], batch_3d=16, batch_2d=16,
                            model={"hidden": 32, "blocks": 1},
                            stages=[Stage("warm", 3, 1e-3), Stage("sa", 2, 2.5e-4, 0.03, 0.03, 0.05)])
    out = tmp_path / "l.pt"
    summary = train(cfg, out, log=lambda s: None, clips=deepmimic_clips)
    assert out.is_file() and out.with_suffix(".yaml").is_file() and out.with_suffix(".json").is_file()
    assert "deepmimic/roll" in summary["clips"]["2d_only"] and "deepmimic/roll" not in summary["clips"]["3d"]
    test = set(summary["clips"]["test"])
    assert test and not test & set(summary["clips"]["3d"]) and not test & set(summary["clips"]["2d_only"])
    load_lifter(out)


def test_numpy_paths_match_torch(heldout_views):
    """The streaming NumPy lifter and NumPy single-frame fit give what the torch model and torch fit give."""
    from structpose.fitting import fit_skeleton
    from structpose.models.lifter import numpy_lifter
    _, uv = heldout_views
    model = load_lifter()
    mask = np.ones(uv.shape[:2], np.float32)
    mask[::3, 5] = 0
    xy = uv[:30]
    pose_np, ls_np, *_ = numpy_lifter(model)(xy, mask[:30])
    with torch.no_grad():
        xn, m2, _, _ = normalise_2d(torch.as_tensor(xy), torch.as_tensor(mask[:30]))
        pose_t, ls_t = model(xn, m2)
    assert np.abs(pose_np - pose_t.numpy()).max() < 1e-4 and np.abs(ls_np - ls_t.numpy()).max() < 1e-4
    rng = np.random.default_rng(1)
    lengths = rng.uniform(0.1, 0.5, 16)
    p = pose_np[0].astype(np.float64)
    fast = fit_skeleton(p, lengths)                         # one NumPy frame: the plain-NumPy walk
    assert isinstance(fast, np.ndarray)
    assert np.allclose(fast, fit_skeleton(torch.from_numpy(p), torch.from_numpy(lengths)).numpy(), atol=1e-6)
