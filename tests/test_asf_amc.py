"""ASF/AMC: the reader against the BVH reader on the same motion written in both formats, CMU's
conventions (units, axis frames, dof subsets), and bad files.

The test writes a small CMU-like skeleton with tilted bone axes (``axis 0 0 20 XYZ`` as CMU's legs)
and dof subsets, random motion, and the same motion as a BVH hierarchy the way CMU's BVH
conversion does it (a joint per bone at the bone's start, its local rotation ``C M C^-1`` as
Z-Y-X Euler channels).  The BVH reader is independently checked against DeepMimic's kinematics and
the ``bvh`` package in ``test_bvh.py``.
"""
from __future__ import annotations

import numpy as np
import pytest
from asf_amc_builders import BONES, J, amc_text, asf_text, random_motion
from scipy.spatial.transform import Rotation

from structpose.cli import main
from structpose.data.asf_amc import load_amc_with_info, parse_asf
from structpose.data.bvh import BvhData, bvh_to_h36m, dumps_bvh, parse_bvh
from structpose.errors import StructposeError
from structpose.skeleton import H36M17


def bvh_of(mot: dict[str, np.ndarray], scale: float = 1.0) -> BvhData:
    """The motion as CMU's BVH conversion writes it: a joint per bone at the bone's start."""
    T = len(mot["root"])
    names, parents, offsets, channels, ends, cols = ["Hips"], [-1], [np.zeros(3)], [], [False], []
    channels.append(("Xposition", "Yposition", "Zposition", "Zrotation", "Yrotation", "Xrotation"))
    root_R = Rotation.from_euler("xyz", mot["root"][:, 3:], degrees=True)
    cols.append(np.concatenate([mot["root"][:, :3], root_R.as_euler("ZYX", degrees=True)], 1))
    vec = {n: np.asarray(d, float) / np.linalg.norm(d) * ln for n, _, d, ln, _, _ in BONES}
    parent_of = {n: p for n, p, *_ in BONES}
    for name, parent, _, _, ax, dof in BONES:
        C = Rotation.from_euler("xyz", ax, degrees=True)
        M = Rotation.from_euler("".join(d[1] for d in dof), mot[name], degrees=True) if dof else \
            Rotation.identity(T)
        local = C * M * C.inv()
        names.append(name)
        parents.append(0 if parent == "root" else names.index(parent))
        offsets.append(np.zeros(3) if parent == "root" else vec[parent] * scale)
        channels.append(("Zrotation", "Yrotation", "Xrotation"))
        ends.append(False)
        cols.append(local.as_euler("ZYX", degrees=True))
    for name, *_ in BONES:                       # an End Site where a bone has no child
        if name not in parent_of.values():
            names.append(name + "_End")
            parents.append(names.index(name))
            offsets.append(vec[name] * scale)
            channels.append(())
            ends.append(True)
    motion = np.concatenate(cols, 1)
    motion[:, :3] *= scale
    return BvhData(names, parents, np.array(offsets), channels, ends, motion, 1 / 120)


@pytest.fixture
def cmu_pair(tmp_path):
    mot = random_motion(40)
    (tmp_path / "07.asf").write_text(asf_text())
    (tmp_path / "07_01.amc").write_text(amc_text(mot))
    return tmp_path, mot


def test_amc_agrees_with_the_same_motion_as_bvh(cmu_pair):
    """Every bone end of the AMC reader equals the BVH reader's joint on the same motion; the
    H36M mapping picks the same points (CMU bone ends = the BVH joints at the next bone's start)."""
    path, mot = cmu_pair
    clip, info = load_amc_with_info(path / "07_01.amc")
    assert clip.fps == 120 and clip.num_frames == 40 and info["asf"].endswith("07.asf")
    bvh = bvh_of(mot)
    # name the BVH joints as CMU's conversion does: a joint sits where its parent bone ends
    ren = {"lfemur": "LeftUpLeg", "ltibia": "LeftLeg", "lfoot": "LeftFoot", "rfemur": "RightUpLeg",
           "rtibia": "RightLeg", "rfoot": "RightFoot", "lhumerus": "LeftArm", "lradius": "LeftForeArm",
           "rhumerus": "RightArm", "rradius": "RightForeArm", "lowerneck": "Neck", "head": "Head",
           "upperback": "Spine"}
    bvh.names = [ren.get(n, n) for n in bvh.names]
    hands = {"l_wrist": "LeftForeArm_End", "r_wrist": "RightForeArm_End"}   # End Sites: no names of their own
    world, binfo = bvh_to_h36m(parse_bvh(dumps_bvh(bvh, precision=8)), units="cmu", up_axis="y", mapping=hands)
    # both readers choose the spine as the point nearest the pelvis-thorax midpoint: upperback's end
    assert info["mapping"]["spine"] == "upperback" and binfo["mapping"]["spine"] == "thorax"
    err = np.linalg.norm(clip.world - world, axis=-1)
    assert err.max() < 1e-4, [f"{H36M17.names[j]} {e:.4f}" for j, e in enumerate(err.max(0)) if e > 1e-4]
    assert binfo["mapping"]["thorax"] == "Neck"


def test_units_and_tilted_axes(cmu_pair, tmp_path):
    """``length 0.45`` means a file unit is 1/0.45 inch; with every angle zero the bones lie along
    their directions whatever the axis tilt, so the rest pose comes back as written."""
    _path, mot = cmu_pair
    zero = {k: np.zeros_like(v) for k, v in mot.items()}
    (tmp_path / "07_02.amc").write_text(amc_text(zero))
    clip, info = load_amc_with_info(tmp_path / "07_02.amc")
    assert np.isclose(info["metres_per_unit"], 0.0254 / 0.45)
    skel = parse_asf(asf_text())
    femur = np.linalg.norm(clip.world[0, J("l_knee")] - clip.world[0, J("l_hip")])
    assert np.isclose(femur, 7.2 * 0.0254 / 0.45)
    rest = skel.rest_positions() * skel.metres_per_unit
    assert np.allclose(clip.world[0, J("head_top")], rest[skel.names.index("head")])
    # twice the length unit: everything half as long
    (tmp_path / "08.asf").write_text(asf_text(length=0.9))
    clip2, _ = load_amc_with_info(tmp_path / "07_02.amc", asf=tmp_path / "08.asf")
    assert np.allclose(clip2.world, clip.world / 2)


@pytest.mark.parametrize("tilt", [0, 90])
def test_a_tilted_axis_changes_how_a_dof_turns(tmp_path, tilt):
    """rx turns about the bone's own x axis, ``C @ x``: with ``axis 0 0 0`` a 90-degree knee bend
    swings a hanging shin to the horizontal; with ``axis 0 0 90`` that axis is the world's Y, the
    shin's own direction, and the shin keeps hanging straight down."""
    bones = [b if b[0] != "ltibia" else ("ltibia", "lfemur", (0, -1, 0), 7.5, (0, 0, tilt), ("rx",))
             for b in BONES]
    (tmp_path / "09.asf").write_text(asf_text(bones=bones))
    mot = {k: np.zeros_like(v) for k, v in random_motion(1).items()}
    mot["ltibia"] = np.array([[90.0]])
    (tmp_path / "09_01.amc").write_text(amc_text(mot))
    clip, _ = load_amc_with_info(tmp_path / "09_01.amc")
    shin = clip.world[0, J("l_ankle")] - clip.world[0, J("l_knee")]
    L = 7.5 * 0.0254 / 0.45
    assert np.isclose(np.linalg.norm(shin), L)
    assert np.isclose(shin[1], 0 if tilt == 0 else -L, atol=1e-9)


@pytest.mark.parametrize("fix,match", [
    (lambda a, m: (a, m[: len(m) * 2 // 3].rsplit("\n", 3)[0]), "truncated"),
    (lambda a, m: (a, m.replace("ltibia ", "ltibia 1 ", 1)), "values; its dof needs"),
    (lambda a, m: (a, m.replace("lfemur", "lfemurx", 1)), "not in the skeleton"),
    (lambda a, m: (a.replace("    lfemur ltibia", "    lfemur ltibia\n    ltibia lfemur"), m), "two parents|cycle"),
    (lambda a, m: (a.replace("  begin\n    root", "  begin\n    lfoot lhipjoint\n    root", 1)
                   .replace("    root lhipjoint", "    root"), m), "cycle|two parents"),
    (lambda a, m: (a.replace("length 0.45", "length 0"), m), "positive"),
    (lambda a, m: (a.replace("dof rx ry rz", "dof rx ry rw", 1), m), "dof"),
    (lambda a, m: (a.replace("name lfemur", "name ltibia"), m), "twice"),
    (lambda a, m: (a, "#!OML\n:DEGREES\n"), "no frames"),
])
def test_bad_files_are_one_line_errors(tmp_path, fix, match):
    asf, amc = fix(asf_text(), amc_text(random_motion(5)))
    (tmp_path / "07.asf").write_text(asf)
    (tmp_path / "07_01.amc").write_text(amc)
    with pytest.raises(StructposeError, match=match) as e:
        load_amc_with_info(tmp_path / "07_01.amc")
    assert "\n" not in str(e.value)


def test_nan_motion_is_refused(tmp_path):
    (tmp_path / "07.asf").write_text(asf_text())
    m = amc_text(random_motion(3)).splitlines()
    i = next(k for k, ln in enumerate(m) if ln.startswith("ltibia"))
    m[i] = "ltibia nan"
    (tmp_path / "07_01.amc").write_text("\n".join(m))
    with pytest.raises(StructposeError, match="not finite"):
        load_amc_with_info(tmp_path / "07_01.amc")


def test_cli_convert_amc_and_bad_amc_exit_2(cmu_pair, tmp_path, capsys):
    path, _ = cmu_pair
    out = tmp_path / "out.npz"
    assert main(["data", "convert", str(path / "07_01.amc"), "--out", str(out)]) == 0
    with np.load(out) as z:
        assert z["poses_3d"].shape == (40, 17, 3)
    (path / "07_01.amc").write_text("1\nroot 1 2\n")
    bad = tmp_path / "bad.npz"
    assert main(["data", "convert", str(path / "07_01.amc"), "--out", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "07_01.amc" in err[0] and not bad.exists()
