import numpy as np
import pytest

from structpose import skeleton as sk


@pytest.mark.parametrize("layout", list(sk.LAYOUTS.values()), ids=lambda l: l.name)
def test_layout_is_a_tree_with_one_root(layout):
    roots = [j for j, p in enumerate(layout.parents) if p < 0]
    assert len(roots) == 1
    for j in range(layout.num_joints):          # every joint reaches the root without a cycle
        seen, k = set(), j
        while k >= 0:
            assert k not in seen
            seen.add(k)
            k = layout.parents[k]


@pytest.mark.parametrize("layout", list(sk.LAYOUTS.values()), ids=lambda l: l.name)
def test_left_right_pairs_mirror_names_and_flip_is_an_involution(layout):
    for a, b in layout.left_right:
        assert layout.names[a].startswith("l_") and layout.names[b] == "r_" + layout.names[a][2:]
    perm = layout.flip_permutation
    assert np.array_equal(perm[perm], np.arange(layout.num_joints))


def test_h36m_has_the_documented_order():
    assert sk.H36M17.names[:4] == ("pelvis", "r_hip", "r_knee", "r_ankle")
    assert sk.H36M17.names[13] == "l_wrist" and sk.H36M17.names[16] == "r_wrist"


@pytest.mark.parametrize("src,dst", [("mpii16", "h36m17"), ("mpi_inf_3dhp17", "h36m17"), ("h36m17", "mpii16")])
def test_round_trip_restores_every_joint_that_is_not_synthesised(src, dst):
    rng = np.random.default_rng(0)
    s = sk.get_layout(src)
    x = rng.normal(size=(5, s.num_joints, 3))
    back = sk.convert(sk.convert(x, src, dst), dst, src)
    kept = [j for j, n in enumerate(s.names)
            if n not in sk.SYNTHESISED[(dst, src)] and np.isfinite(back[:, j]).all()]
    assert len(kept) >= s.num_joints - 1          # at most one joint (H36M spine) is lost
    np.testing.assert_allclose(back[:, kept], x[:, kept])


def test_synthesised_pelvis_is_mid_hips_and_missing_joints_are_nan():
    rng = np.random.default_rng(1)
    coco = rng.normal(size=(3, 17, 2))
    h = sk.convert(coco, "coco17", "h36m17")
    np.testing.assert_allclose(h[:, 0], (coco[:, 11] + coco[:, 12]) / 2)
    assert "pelvis" in sk.SYNTHESISED[("coco17", "h36m17")]
    back = sk.convert(h, "h36m17", "coco17")
    assert np.isnan(back[:, 1]).all()              # eyes cannot come from H36M: NaN, not zero


def test_wrong_joint_count_is_a_clear_error():
    with pytest.raises(ValueError, match="16 joints"):
        sk.convert(np.zeros((2, 17, 3)), "mpii16", "h36m17")


def test_layout_errors_are_the_one_public_error_type():
    from structpose.errors import StructposeError
    from structpose.skeleton import H36M17, Layout, conversion_matrix, get_layout
    for bad in (lambda: H36M17.index("tail"), lambda: get_layout("h36m99"),
                lambda: conversion_matrix("h36m17", "nope"), lambda: Layout("x", ("a", "b"), (-1,))):
        with pytest.raises(StructposeError) as e:
            bad()
        assert "\n" not in str(e.value)


def test_bone_twins_swap_left_and_right_by_name():
    from structpose.skeleton import H36M17
    names = H36M17.names
    for b, t in enumerate(H36M17.bone_twins):
        (p, c), (tp, tc) = H36M17.bones[b], H36M17.bones[t]
        swap = {"l_": "r_", "r_": "l_"}
        assert names[tc] == (swap[names[c][:2]] + names[c][2:] if names[c][:2] in swap else names[c])
        assert names[tp] == (swap[names[p][:2]] + names[p][2:] if names[p][:2] in swap else names[p])
