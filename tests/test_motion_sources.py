"""Fetched motion sources, their splits and the one-convention harmonisation.

Nothing here needs the real sources: the tests write small files in each source's exact layout
into a temporary data folder (``STRUCTPOSE_DATA``), and fetch from a local git repository.
"""
from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from structpose.cli import main
from structpose.data import deepmimic, motion_sources
from structpose.data.clip import Clip
from structpose.data.harmonise import CONVENTION, GROUPS, augment_proportions, harmonise, leg_length
from structpose.data.splits import family_of, leave_one_source_out, split_of
from structpose.errors import StructposeError
from structpose.skeleton import H36M17

J = H36M17.index


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.setenv("STRUCTPOSE_DATA", str(tmp_path / "data"))
    return tmp_path / "data"


def _bandai_bvh(frames: int = 6, wiggle: float = 0.0) -> str:
    """Bandai's rig: rest pose along X, 6 channels per joint, zero-offset end sites, cm, Y up."""
    rng = np.random.default_rng(0)
    # (name, parent, offset) -- Bandai's own offsets (dataset-1), the rest pose lying along X
    rig = [("joint_Root", None, (0, 0, 0)), ("Hips", "joint_Root", (0.85, 93.98, -452.2)),
           ("Spine", "Hips", (15.7, 0, 0)), ("Chest", "Spine", (9.0, -0.4, 0)), ("Neck", "Chest", (16.4, 0, 0)),
           ("Head", "Neck", (6.5, 0, 0)),
           ("Shoulder_L", "Chest", (13.0, -0.2, 5.0)), ("UpperArm_L", "Shoulder_L", (5.3, 0, 0)),
           ("LowerArm_L", "UpperArm_L", (24.3, 0, 0)), ("Hand_L", "LowerArm_L", (22.3, 0, 0)),
           ("Shoulder_R", "Chest", (13.0, -0.2, -5.0)), ("UpperArm_R", "Shoulder_R", (-5.3, 0, 0)),
           ("LowerArm_R", "UpperArm_R", (-24.3, 0, 0)), ("Hand_R", "LowerArm_R", (-22.3, 0, 0)),
           ("UpperLeg_L", "Hips", (-2.2, -6.5, 0)), ("LowerLeg_L", "UpperLeg_L", (39.1, 0, 0)),
           ("Foot_L", "LowerLeg_L", (41.0, 0, 0)),
           ("UpperLeg_R", "Hips", (-2.2, 6.5, 0)), ("LowerLeg_R", "UpperLeg_R", (-39.1, 0, 0)),
           ("Foot_R", "LowerLeg_R", (-41.0, 0, 0))]
    kids: dict = {}
    for n, p, _ in rig:
        kids.setdefault(p, []).append(n)
    off = {n: o for n, _, o in rig}
    lines = ["HIERARCHY"]
    order = []

    def write(n, d):
        order.append(n)
        ind = "  " * d
        lines.append(f"{ind}{'ROOT' if d == 0 else 'JOINT'} {n}")
        lines.append(ind + "{")
        lines.append(f"{ind}  OFFSET {off[n][0]} {off[n][1]} {off[n][2]}")
        lines.append(f"{ind}  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation")
        for k in kids.get(n, []):
            write(k, d + 1)
        if n not in kids:
            lines.extend([f"{ind}  End Site", ind + "  {", f"{ind}    OFFSET 0 0 0", ind + "  }"])
        lines.append(ind + "}")

    write("joint_Root", 0)
    lines += ["MOTION", f"Frames: {frames}", "Frame Time: 0.0333333"]
    # the motion stands the body up: Hips turned so that its local +X (the spine) points to +Y
    for _ in range(frames):
        row = []
        for n in order:
            o = list(off[n])
            if n == "Hips":
                o = [rng.normal(0, 2), 94.0, rng.normal(0, 2)]
            rot = [90.0, 0, 0] if n == "Hips" else [0.0, 0, 0]   # Z X Y: +90 about Z takes X to Y
            if n == "UpperLeg_L":
                rot = [180.0, 0, 0]              # the left leg's bones lie along +X: turn them down too
            rot = list(np.add(rot, rng.uniform(-wiggle, wiggle, 3)))
            row += o + rot
        lines.append(" ".join(f"{v:.4f}" for v in row))
    return "\n".join(lines) + "\n"


def test_bandai_rig_reads_upright_without_a_hand_mapping(data, tmp_path):
    """The rest pose lies along X; units and up axis come from the motion: cm, +Y, a standing body
    about 1.7 m tall with a derived head top above the head."""
    from structpose.data.bvh import load_bvh_with_info
    p = tmp_path / "bandai.bvh"
    p.write_text(_bandai_bvh())
    clip, info = load_bvh_with_info(p)
    assert info["units"] == "cm" and info["up_axis"] == "+y" and info["up_from"] == "motion"
    assert info["synthesised"] == ["head_top"]
    assert info["mapping"]["l_shoulder"] == "UpperArm_L" and info["mapping"]["r_hip"] == "UpperLeg_R"
    w = clip.world
    assert (w[:, J("head_top"), 1] > w[:, J("neck_nose"), 1]).all()
    assert (w[:, J("neck_nose"), 1] > w[:, J("pelvis"), 1]).all() and (w[:, J("pelvis"), 1] > w[:, J("l_knee"), 1]).all()
    height = w[:, J("head_top"), 1] - w[:, [J("l_ankle"), J("r_ankle")], 1].mean(1)
    assert np.all((height > 1.3) & (height < 1.9))


def _layout(data):
    """Tiny copies of each source in its repository's layout."""
    from asf_amc_builders import amc_text, asf_text, random_motion
    b = data / "motion" / "bandai" / "dataset" / "Bandai-Namco-Research-Motiondataset-1" / "data"
    b.mkdir(parents=True)
    for name in ("dataset-1_walk_normal_001", "dataset-1_walk_old_001", "dataset-1_kick_childish_002"):
        (b / f"{name}.bvh").write_text(_bandai_bvh())
    c = data / "motion" / "cmu" / "data" / "CMU" / "asfamc" / "subjects"
    for subj in ("01", "02"):
        (c / subj).mkdir(parents=True)
        (c / subj / f"{subj}.asf").write_text(asf_text())
        (c / subj / f"{subj}_01.amc").write_text(amc_text(random_motion(8)))
    d = data / "motion" / "deepmimic_repo" / "data"
    (d / "motions" / "sie").mkdir(parents=True)
    (d / "motions" / "long").mkdir(parents=True)
    (d / "characters").mkdir(parents=True)
    (d / "characters" / "humanoid3d.txt").write_text(json.dumps({"Skeleton": {"Joints": [
        {"Name": n, "AttachX": float(v[0]), "AttachY": float(v[1]), "AttachZ": float(v[2])} for n, v in (
            ("chest", deepmimic._OFF["chest"]), ("neck", deepmimic._OFF["neck"]),
            ("right_hip", deepmimic._OFF["r_hip"]), ("left_hip", deepmimic._OFF["l_hip"]),
            ("right_knee", deepmimic._OFF["knee"]), ("right_ankle", deepmimic._OFF["ankle"]),
            ("right_shoulder", deepmimic._OFF["r_shoulder"]), ("left_shoulder", deepmimic._OFF["l_shoulder"]),
            ("right_elbow", deepmimic._OFF["elbow"]), ("right_wrist", deepmimic._OFF["wrist"]))]}}))
    src = next(p for p in deepmimic.clip_paths() if p.stem == "humanoid3d_walk")
    for rel in ("humanoid3d_walk.txt", "humanoid3d_jog.txt", "sie/sie_humanoid3d_punch_left00.txt",
                "long/humanoid3d_long_walk1.txt", "long/humanoid3d_long_walk1_mirror.txt", "dog3d_pace.txt"):
        shutil.copy(src, d / "motions" / rel)


def test_sources_convert_cache_and_split(data):
    _layout(data)
    b = motion_sources.load_source("bandai")
    assert [c.name for c in b] == ["bandai/dataset-1_kick_childish_002", "bandai/dataset-1_walk_normal_001",
                                   "bandai/dataset-1_walk_old_001"]
    assert [split_of(c.name) for c in b] == ["val", "train", "test"]           # by style
    cache = data / "motion" / "cache" / "bandai.npz"
    assert cache.exists()
    again = motion_sources.load_source("bandai")                                # from the cache
    assert all(np.array_equal(x.world, y.world) and x.fps == y.fps == 30 for x, y in zip(b, again))
    cmu = motion_sources.load_source("cmu")
    assert [c.name for c in cmu] == ["cmu/01_01", "cmu/02_01"] and [split_of(c.name) for c in cmu] == ["train", "test"]
    dm = {c.name: c for c in motion_sources.load_source("deepmimic_repo")}
    # pybullet's walk is the "deepmimic" source already; dog clips are not human
    assert set(dm) == {"deepmimic/jog", "deepmimic/sie_punch_left00", "deepmimic/long_walk1",
                       "deepmimic/long_walk1_mirror"}
    assert split_of("deepmimic/long_walk1_mirror") == split_of("deepmimic/long_walk1") == "train"
    assert split_of("deepmimic/sie_punch_left00") == "test"
    assert motion_sources.clip_licence("deepmimic/sie_punch_left00") == "CC BY-NC 4.0"
    assert not motion_sources.commercial_ok("deepmimic/sie_punch_left00")
    assert motion_sources.commercial_ok("deepmimic/jog") and motion_sources.commercial_ok("cmu/01_01")
    assert not motion_sources.commercial_ok("bandai/dataset-1_walk_normal_001")


def test_mirrors_never_cross_a_split():
    from structpose.data.splits import DEEPMIMIC_REPO_SPLIT, SPLIT_TABLE
    for name in list(SPLIT_TABLE) + list(DEEPMIMIC_REPO_SPLIT):
        if not name.endswith("_mirror"):
            assert split_of(name + "_mirror") == split_of(name)


def test_leave_one_source_out_never_tests_on_training_clips():
    names = ["deepmimic/walk", "deepmimic/punch", "holosoma/climb_seq_0", "holosoma/climb_seq_4", "cmu/01_01",
             "cmu/02_03", "cmu/03_01", "cmu_boxing/boxing", "bandai/dataset-2_walk_elderly_001",
             "bandai/dataset-2_walk_normal_001"]
    clips = [Clip(n, n.split("/")[0], np.zeros((2, 17, 3)), 30.0) for n in names]
    for fam in ("deepmimic", "holosoma", "bandai", "cmu"):
        fold = leave_one_source_out(clips, fam)
        assert fold["test"] and all(family_of(c.name) == fam and split_of(c.name) == "test" for c in fold["test"])
        assert all(family_of(c.name) != fam for c in fold["train"] + fold["val"])
        assert all(split_of(c.name) != "test" for c in fold["train"] + fold["val"])
    assert [c.name for c in leave_one_source_out(clips, "cmu")["test"]] == ["cmu/02_03", "cmu_boxing/boxing"]


def test_missing_source_and_fetch_offline_are_one_line(data, monkeypatch, capsys):
    with pytest.raises(StructposeError, match="structpose data fetch cmu"):
        motion_sources.load_source("cmu")
    monkeypatch.setattr(motion_sources, "SOURCES", {**motion_sources.SOURCES, "cmu": motion_sources.SOURCES["cmu"].__class__(
        **{**motion_sources.SOURCES["cmu"].__dict__, "repo": str(data / "no-such-repo.git")})})
    assert main(["data", "fetch", "cmu"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot fetch cmu" in err[-1] and "structpose data fetch cmu" in err[-1]
    assert not (data / "motion" / "cmu").exists() and not (data / "motion" / "cmu.partial").exists()


def test_fetch_clones_only_the_motion_paths(data, tmp_path, monkeypatch):
    from asf_amc_builders import amc_text, asf_text, random_motion
    repo = tmp_path / "upstream"
    sub = repo / "data" / "CMU" / "asfamc" / "subjects" / "01"
    sub.mkdir(parents=True)
    (sub / "01.asf").write_text(asf_text())
    (sub / "01_01.amc").write_text(amc_text(random_motion(4)))
    (repo / "big_other_stuff").mkdir()
    (repo / "big_other_stuff" / "video.bin").write_bytes(b"x" * 1000)
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    for cmd in (["git", "init", "-q"], ["git", "add", "."], ["git", "commit", "-qm", "x"]):
        subprocess.run(cmd, cwd=repo, check=True, env={**__import__("os").environ, **env})
    src = motion_sources.SOURCES["cmu"]
    monkeypatch.setattr(motion_sources, "SOURCES", {**motion_sources.SOURCES, "cmu": src.__class__(
        **{**src.__dict__, "repo": f"file://{repo}"})})
    assert main(["data", "fetch", "cmu"]) == 0
    dest = data / "motion" / "cmu"
    assert (dest / "data" / "CMU" / "asfamc" / "subjects" / "01" / "01_01.amc").exists()
    assert not (dest / "big_other_stuff").exists()
    assert [c.name for c in motion_sources.load_source("cmu")] == ["cmu/01_01"]


def _clip(name: str = "deepmimic/spinkick") -> Clip:
    return next(c for c in deepmimic.load_all() if c.name == name)


def test_harmonise_keeps_directions_and_sets_the_convention():
    c = _clip()
    h = harmonise(c)
    leg = leg_length(c.world)
    P = H36M17.parents
    for j in range(1, 17):
        b0 = c.world[:, j] - c.world[:, P[j]]
        b1 = h.world[:, j] - h.world[:, P[j]]
        cos = np.einsum("ti,ti->t", b0, b1) / np.linalg.norm(b0, axis=-1) / np.linalg.norm(b1, axis=-1)
        assert cos.min() > 1 - 1e-5                                     # same direction every frame
        assert np.isclose(np.median(np.linalg.norm(b1, axis=-1)), CONVENTION[H36M17.names[j]] * leg, rtol=1e-4)
    assert np.allclose(h.world[:, 0], c.world[:, 0], atol=1e-6)          # the root's path is the clip's


def test_proportion_augmentation_scales_whole_groups():
    w = np.repeat(_clip().world[:1], 400, 0)
    a = augment_proportions(w, np.random.default_rng(0))
    P = H36M17.parents
    ratio = np.stack([np.linalg.norm(a[:, j] - a[:, P[j]], axis=-1) / np.linalg.norm(w[:, j] - w[:, P[j]], axis=-1)
                      for j in range(1, 17)], 1)
    for names, r in GROUPS.values():
        cols = [J(n) - 1 for n in names]
        assert np.allclose(ratio[:, cols], ratio[:, cols[:1]], atol=1e-5)   # a group shares its factor
        assert ratio[:, cols[0]].min() >= 1 - r - 1e-6 and ratio[:, cols[0]].max() <= 1 + r + 1e-6
        assert ratio[:, cols[0]].std() > r / 3                               # and it varies per sample
    assert np.allclose(ratio[:, J("r_shoulder") - 1], ratio[:, J("l_shoulder") - 1])   # left = right


def test_cli_converts_a_bandai_file_and_refuses_a_truncated_one(tmp_path, capsys):
    good, bad = tmp_path / "b.bvh", tmp_path / "cut.bvh"
    good.write_text(_bandai_bvh())
    bad.write_text(_bandai_bvh()[:-200])
    assert main(["data", "convert", str(good), "--out", str(tmp_path / "b.npz")]) == 0
    with np.load(tmp_path / "b.npz") as z:
        assert z["poses_3d"].shape == (6, 17, 3) and np.isfinite(z["poses_3d"]).all()
    capsys.readouterr()
    assert main(["data", "convert", str(bad), "--out", str(tmp_path / "cut.npz")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "truncated" in err[0] and not (tmp_path / "cut.npz").exists()


def test_bvh_forward_kinematics_matches_blenders_importer(tmp_path):
    """Blender's own BVH importer (Debian's, headless; `make setup` installs it) animates every joint of
    a Bandai-like rig -- 6 channels on every joint, rest pose along X, random rotations -- where
    bvh_forward_kinematics puts it (Blender's Z up: (x, y, z) -> (x, -z, y))."""
    import subprocess
    from importlib import resources

    from structpose.data.bvh import bvh_forward_kinematics, read_bvh
    assert shutil.which("blender"), "Debian's blender is missing: run `make setup` (it installs blender)"
    bvh = tmp_path / "wiggle.bvh"
    bvh.write_text(_bandai_bvh(frames=5, wiggle=40.0))
    jobs = tmp_path / "jobs.json"
    jobs.write_text(json.dumps({"fps": 30, "jobs": [{"kind": "bvh", "file": str(bvh), "out": str(tmp_path / "o.json"),
                                                     "first": 1, "last": 5, "scale": 1.0}]}))
    harness = resources.files("structpose").joinpath("assets", "blender_readback.py")
    subprocess.run(["blender", "-b", "--factory-startup", "--python", str(harness), "--", str(jobs)],
                   capture_output=True, timeout=600, check=True)
    got = json.loads((tmp_path / "o.json").read_text())["frames"]
    data = read_bvh(bvh)
    ours = bvh_forward_kinematics(data)
    worst = 0.0
    for t in range(5):
        for name, (head, _tail) in got[str(t + 1)].items():
            p = ours[t, data.names.index(name)]
            worst = max(worst, float(np.linalg.norm(np.array([p[0], -p[2], p[1]]) - head)))
    assert len(got["1"]) == sum(not e for e in data.is_end_site) and worst < 1e-3      # cm
