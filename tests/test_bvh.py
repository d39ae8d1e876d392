"""BVH: parser, forward kinematics, rig mapping, units, up axis, bad files.

Test files are written here: a real DeepMimic clip re-expressed as a BVH hierarchy (CMU-like and
Mixamo-like names, several units, Y or Z up), so the expected joint positions are DeepMimic's own
forward kinematics — an independent computation of the same motion.
"""
from __future__ import annotations

import re

import numpy as np
import pytest
from bvh_builders import CMU, MIXAMO, _frames, deepmimic_bvh
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from structpose.cli import main
from structpose.data import deepmimic
from structpose.data.bvh import (
    BvhData,
    bvh_forward_kinematics,
    bvh_to_h36m,
    dumps_bvh,
    load_bvh,
    load_bvh_with_info,
    parse_bvh,
)
from structpose.errors import StructposeError
from structpose.skeleton import H36M17

J = H36M17.index


@pytest.fixture(scope="module")
def frames():
    return _frames("spinkick")


@pytest.mark.parametrize("names,scale,z_up,unit", [
    (CMU, 1.0, False, "m"), (CMU, 100.0, False, "cm"), (CMU, 1 / 0.056444, False, "cmu"),
    (CMU, 1 / 0.0254, False, "inch"), (MIXAMO, 100.0, True, "cm"), (MIXAMO, 1000.0, False, "mm")])
def test_bvh_reproduces_deepmimic_motion(tmp_path, frames, names, scale, z_up, unit):
    path = tmp_path / "clip.bvh"
    path.write_text(dumps_bvh(deepmimic_bvh(frames, names, scale, z_up), precision=6))
    clip, info = load_bvh_with_info(path)
    assert info["units"] == unit and info["up_axis"] == ("+z" if z_up else "+y")
    assert clip.fps == round(1 / frames[0, 0])          # 0.0166666 s -> 60 fps
    assert np.abs(clip.world - deepmimic.forward_kinematics(frames)).max() < 1e-4   # 6-decimal file values


def test_forward_kinematics_by_hand():
    """Two joints: root at (1,2,3) turned 90 deg about Z; child offset (0,10,0) lands at (-9,2,3);
    a child rotated X then Y (channel order) applies Rx @ Ry to its own child."""
    text = """HIERARCHY
ROOT A
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT B
  {
    OFFSET 0 10 0
    CHANNELS 3 Xrotation Yrotation Zrotation
    End Site
    {
      OFFSET 0 0 5
    }
  }
}
MOTION
Frames: 1
Frame Time: 0.04
1 2 3 90 0 0 90 90 0
"""
    d = parse_bvh(text)
    pos = bvh_forward_kinematics(d)[0]
    assert d.names == ["A", "B", "B_End"] and d.fps == pytest.approx(25.0)
    assert np.allclose(pos[1], [-9, 2, 3], atol=1e-9)
    Rz = np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1.0]])
    Rx = np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0.0]])
    Ry = np.array([[0, 0, 1], [0, 1, 0], [-1, 0, 0.0]])
    assert np.allclose(pos[2], pos[1] + Rz @ Rx @ Ry @ [0, 0, 5], atol=1e-9)


def test_parser_agrees_with_the_pypi_bvh_package(frames):
    import bvh as pypi_bvh
    text = dumps_bvh(deepmimic_bvh(frames[:12], MIXAMO, 100.0), precision=4)
    ours, ref = parse_bvh(text), pypi_bvh.Bvh(text)
    joints = [n for n, e in zip(ours.names, ours.is_end_site) if not e]
    assert joints == ref.get_joints_names()
    assert ours.num_frames == ref.nframes and ours.frame_time == pytest.approx(ref.frame_time)
    for j, name in enumerate(ours.names):
        if ours.is_end_site[j]:
            continue
        assert np.allclose(ours.offsets[j], ref.joint_offset(name))
        assert list(ours.channels[j]) == ref.joint_channels(name)
        vals = np.array(ref.frames_joint_channels(name, ref.joint_channels(name)), float)
        assert np.allclose(ours.channel_values(j), vals)


def test_dumps_parse_round_trip(frames):
    d = deepmimic_bvh(frames[:5], CMU, 100.0)
    back = parse_bvh(dumps_bvh(d, precision=9))
    assert np.allclose(bvh_forward_kinematics(back), _dfs(bvh_forward_kinematics(d), d, back), atol=1e-6)


def _dfs(pos: np.ndarray, d: BvhData, back: BvhData) -> np.ndarray:
    return pos[:, [d.names.index(n) for n in back.names]]


def test_left_right_is_the_persons_own(tmp_path, frames):
    """Forward = ankle -> toe end site (the file's own feet); forward x up = l_hip -> r_hip."""
    d = deepmimic_bvh(_frames("walker/turn_left0"[-10:]), MIXAMO, 100.0, z_up=True)
    path = tmp_path / "m.bvh"
    path.write_text(dumps_bvh(d))
    clip = load_bvh(path)
    pos = bvh_forward_kinematics(parse_bvh(path.read_text()))
    names = parse_bvh(path.read_text()).names
    toe = sum(pos[:, names.index(f"mixamorig:{s}Foot_End")] - pos[:, names.index(f"mixamorig:{s}Foot")]
              for s in ("Left", "Right"))
    fwd = np.stack([toe[:, 0], toe[:, 2], -toe[:, 1]], -1)           # file Z up -> Y up
    fwd[:, 1] = 0
    right = clip.world[:, J("r_hip")] - clip.world[:, J("l_hip")]
    assert (np.einsum("ti,ti->t", np.cross(fwd, [0, 1, 0]), right) > 0).mean() > 0.95


@pytest.mark.parametrize("zero_end", [False, True])
def test_missing_head_end_is_synthesised_and_reported(tmp_path, frames, zero_end):
    """No head End Site, or one with a zero offset (Bandai's rig): the derived head top lands where
    DeepMimic's own forward kinematics puts its real head top (0.1025 m along the neck, against
    0.125 x leg = 0.104 m), turning with the head through a spin kick."""
    rig = deepmimic_bvh(frames, CMU, 1 / 0.056444, head_end=zero_end)
    if zero_end:
        rig.offsets[rig.names.index("Head_End")] = 0.0
    path = tmp_path / "nohead.bvh"
    path.write_text(dumps_bvh(rig))
    clip, info = load_bvh_with_info(path)
    assert info["synthesised"] == ["head_top"] and "head_top" not in info["mapping"]
    truth = deepmimic.forward_kinematics(frames)[:, J("head_top")]
    err = np.linalg.norm(clip.world[:, J("head_top")] - truth, axis=-1)
    assert err.max() < 0.004


# --- bad input ------------------------------------------------------------------------------------

def _valid_text() -> str:
    return dumps_bvh(deepmimic_bvh(_frames("walk")[:4], CMU, 100.0), precision=3)


def test_unknown_joint_names_are_named(tmp_path):
    text = _valid_text().replace("LeftLeg", "Bone07").replace("RightForeArm", "Bone12")
    path = tmp_path / "odd.bvh"
    path.write_text(text)
    with pytest.raises(StructposeError) as e:
        load_bvh(path)
    msg = str(e.value)
    assert "l_knee" in msg and "r_elbow" in msg and "Bone07" in msg and "\n" not in msg
    clip = load_bvh(path, mapping={"l_knee": "Bone07", "r_elbow": "Bone12"})
    assert np.isfinite(clip.world).all()


@pytest.mark.parametrize("mutate,match", [
    (lambda t: t.split("MOTION")[0] + "MOTION\nFrames: 0\nFrame Time: 0.033\n", "0 frames"),
    (lambda t: t[: len(t) // 3], "ends early|truncated"),
    (lambda t: t[:-40], "truncated"),
    (lambda t: "", "ends early"),
    (lambda t: t.replace("OFFSET", "OFSET", 1), "expected 'OFFSET'"),
    (lambda t: re.sub(r"Frame Time: \S+", "Frame Time: -1", t), "Frame Time"),
    (lambda t: t.replace("Zrotation", "Wrotation", 1), "channels"),
    (lambda t: t + " 1.0", "numbers; expected"),
])
def test_broken_files_are_one_line_errors(tmp_path, mutate, match):
    path = tmp_path / "bad.bvh"
    path.write_text(mutate(_valid_text()))
    with pytest.raises(StructposeError, match=match) as e:
        load_bvh(path)
    assert "\n" not in str(e.value)


def test_cli_show_bad_bvh_exit_2_nothing_written(tmp_path, capsys):
    good = tmp_path / "good.bvh"
    good.write_text(_valid_text())
    assert main(["data", "show", str(good), "--out", str(tmp_path / "ok.png")]) == 0
    assert (tmp_path / "ok.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for k, text in enumerate((_valid_text()[:200], _valid_text().replace("LeftUpLeg", "Thing"),
                              _valid_text().split("MOTION")[0] + "MOTION\nFrames: 0\nFrame Time: 0.1\n")):
        bad = tmp_path / f"bad{k}.bvh"
        bad.write_text(text)
        out = tmp_path / f"bad{k}.png"
        capsys.readouterr()
        assert main(["data", "show", str(bad), "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "error" in err and "Traceback" not in err
        assert not out.exists() and not list(tmp_path.glob(f".bad{k}*"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(0, 10_000), pos=st.integers(0, 10_000), junk=st.sampled_from(
    ["", "{", "}", "nan", "1e999", "JOINT", "End Site", "CHANNELS 9", "x", "\x00", "-"]))
def test_fuzzed_files_never_traceback(cut, pos, junk):
    text = _FUZZ_BASE
    i = pos % (len(text) + 1)
    mutated = (text[:i] + junk + text[i + len(junk):])[: max(1, len(text) - cut % len(text))]
    try:
        d = parse_bvh(mutated)
        assert np.isfinite(bvh_forward_kinematics(d)).all()
        world, _ = bvh_to_h36m(d)                 # mapping, units and up axis on whatever parsed
        assert world.shape == (d.num_frames, 17, 3)
    except StructposeError as e:
        assert "\n" not in str(e)


_FUZZ_BASE = dumps_bvh(deepmimic_bvh(_frames("walk")[:2], CMU, 100.0), precision=2)


@settings(max_examples=60, deadline=None)
@given(ops=st.lists(st.tuples(st.sampled_from(["drop", "dup", "swap", "blank"]), st.integers(0, 10_000),
                              st.integers(0, 10_000)), min_size=1, max_size=4))
def test_line_edits_never_traceback(ops):
    """Dropped, duplicated, swapped or blanked lines: parse and map, or one StructposeError line."""
    lines = _FUZZ_BASE.splitlines()
    for op, a, b in ops:
        i, j = a % len(lines), b % len(lines)
        if op == "drop" and len(lines) > 1:
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "swap":
            lines[i], lines[j] = lines[j], lines[i]
        else:
            lines[i] = ""
    try:
        d = parse_bvh("\n".join(lines))
        world, _ = bvh_to_h36m(d)
        assert np.isfinite(world).all()
    except StructposeError as e:
        assert "\n" not in str(e)


def test_absurdly_deep_hierarchy_is_one_error():
    head = "HIERARCHY\nROOT a\n{\nOFFSET 0 0 0\nCHANNELS 3 Xrotation Yrotation Zrotation\n"
    chain = "".join(f"JOINT j{i}\n{{\nOFFSET 0 1 0\nCHANNELS 3 Xrotation Yrotation Zrotation\n" for i in range(3000))
    text = head + chain + "}\n" * 3001 + "MOTION\nFrames: 1\nFrame Time: 0.1\n" + " 0" * (3 * 3001)
    with pytest.raises(StructposeError, match="too deep"):
        parse_bvh(text)


@pytest.mark.parametrize("value", ["1e300", "-1e300", "1e7"])
def test_one_huge_value_is_refused_not_spread_to_valid_frames(tmp_path, capsys, value):
    head, motion = _valid_text().split("Frame Time:")
    lines = motion.split("\n")
    row = lines[2].split()                 # lines[0]: the frame time; lines[1]: frame 0; lines[2]: frame 1
    row[0] = value
    lines[2] = " ".join(row)
    path = tmp_path / "huge.bvh"
    path.write_text(head + "Frame Time:" + "\n".join(lines))
    with pytest.raises(StructposeError, match="frame 1 channel 0") as e:
        load_bvh(path)
    assert "\n" not in str(e.value)
    out = tmp_path / "huge.npz"
    assert main(["data", "convert", str(path), "--out", str(out)]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1 and not out.exists()
    # the same file with an ordinary value there converts, every frame finite
    row[0] = "1.5"
    lines[2] = " ".join(row)
    path.write_text(head + "Frame Time:" + "\n".join(lines))
    assert np.isfinite(load_bvh(path).world).all()
