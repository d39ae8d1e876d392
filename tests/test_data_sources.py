"""Real motion sources: loading, caching, description, and the `data sources` / `data show` commands."""
from __future__ import annotations

import json

import numpy as np
import pytest

from structpose.cli import main
from structpose.data import deepmimic, sources
from structpose.data.sources import describe_sources, load_clips
from structpose.errors import StructposeError
from structpose.io.posefile import PoseSequence, save_pose_file

PNG = b"\x89PNG\r\n\x1a\n"


def test_load_clips_every_real_source():
    clips = load_clips()
    by = {s: [c for c in clips if c.source == s] for s in ("deepmimic", "holosoma")}
    assert len(by["deepmimic"]) == 20 and len(by["holosoma"]) == 5
    # frame counts come straight from the files
    rows = sum(len(json.loads(p.read_text())["Frames"]) for p in deepmimic.clip_paths())
    assert sum(c.num_frames for c in by["deepmimic"]) == rows == 1810
    for c in clips:
        assert c.world.shape[1:] == (17, 3) and np.isfinite(c.world).all() and c.fps > 0
        assert c.name.startswith(c.source + "/")
    assert len({c.name for c in clips}) == len(clips)


def test_clips_are_cached_and_read_only():
    a, b = load_clips("deepmimic"), load_clips("deepmimic")
    assert a[0].world is b[0].world
    with pytest.raises(ValueError):
        a[0].world[0, 0, 0] = 1.0


def test_resampled_clips_keep_duration():
    native, at30 = load_clips("holosoma"), load_clips("holosoma", fps=30)
    for n, r in zip(native, at30):
        assert r.fps == 30.0 and abs((r.num_frames - 1) / 30 - (n.num_frames - 1) / 120) < 1 / 30
        assert np.allclose(r.world[1], n.world[4])          # 120 -> 30 keeps every 4th frame


def test_describe_sources_matches_the_clips():
    rows = {r["source"]: r for r in describe_sources()}
    for s in ("deepmimic", "holosoma"):
        clips = load_clips(s)
        assert rows[s]["found"] and rows[s]["clips"] == len(clips)
        assert rows[s]["frames"] == sum(c.num_frames for c in clips)
        assert rows[s]["use"] == "train"
    assert rows["holosoma"]["fps"] == [120.0]
    assert rows["deepmimic"]["fps"] == [16.0, 24.0, 30.0, 60.0]
    fetched = {"bandai", "cmu", "deepmimic_repo"}        # train sources when fetched (motion_sources)
    assert all(r["use"] == "eval-only" for k, r in rows.items() if k not in {"deepmimic", "holosoma"} | fetched)


def test_missing_source_says_how_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STRUCTPOSE_DATA", str(tmp_path))
    monkeypatch.setattr(sources, "_CACHE", {})
    with pytest.raises(StructposeError, match="make setup"):
        load_clips(("deepmimic", "holosoma"))
    rows = {r["source"]: r for r in describe_sources()}
    assert not rows["holosoma"]["found"] and rows["deepmimic"]["found"]
    assert main(["data", "sources"]) == 0
    out = capsys.readouterr().out
    assert "MISSING holosoma" in out and "make setup" in out
    with pytest.raises(StructposeError, match="unknown motion source"):
        load_clips("amass")


def test_cli_sources_table(capsys):
    assert main(["data", "sources"]) == 0
    out = capsys.readouterr().out
    assert "deepmimic" in out and "holosoma" in out and "1810" in out and "12939" in out
    assert main(["data", "sources", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["source"] for r in rows} >= {"deepmimic", "holosoma"}
    assert main(["data", "sources", "--clips"]) == 0
    out = capsys.readouterr().out
    assert "holosoma/climb_seq_4" in out and out.count("deepmimic/") >= 20


def test_cli_show_pose_file_and_clip_name(tmp_path, capsys):
    clip = load_clips("deepmimic")[0]
    pf = save_pose_file(tmp_path / "seq.npz", PoseSequence(poses_3d=clip.in_camera(), fps=clip.fps))
    out = tmp_path / "fig.png"
    assert main(["data", "show", str(pf), "--out", str(out), "--frames", "0,5,10"]) == 0
    assert out.read_bytes()[:8] == PNG
    out2 = tmp_path / "walk.png"
    assert main(["data", "show", "deepmimic/walk", "--out", str(out2), "--frames", "1"]) == 0
    assert out2.read_bytes()[:8] == PNG
    out3 = tmp_path / "views.png"
    assert main(["data", "show", str(pf), "--out", str(out3), "--views", "3"]) == 0
    assert out3.read_bytes()[:8] == PNG
    assert _run(["data", "show", str(pf), "--out", str(tmp_path / "v0.png"), "--views", "0"]) == 2
    assert not (tmp_path / "v0.png").exists()


@pytest.mark.parametrize("args", [
    ["data", "show", "nowhere.npz"],
    ["data", "show", "deepmimic/no_such_clip"],
    ["data", "show", "{seq}", "--frames", "0,999"],
    ["data", "show", "{garbage}"],
    ["data", "show", "{empty}"],
    ["data", "show", "{seq}", "--frames", "a,b"],
])
def test_cli_show_bad_input_exit_2_nothing_written(tmp_path, capsys, args):
    clip = load_clips("deepmimic")[0]
    seq = save_pose_file(tmp_path / "seq.npz", PoseSequence(poses_3d=clip.in_camera()[:20], fps=clip.fps))
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"PK\x03\x04 not really a zip")
    empty = tmp_path / "empty.json"
    empty.write_text("")
    out = tmp_path / "out.png"
    argv = [a.format(seq=seq, garbage=garbage, empty=empty) for a in args] + ["--out", str(out)]
    assert _run(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err and "Traceback" not in "\n".join(err) and "error" in err[-1]
    assert not out.exists() and not list(tmp_path.glob(".out*"))


def _run(argv: list[str]) -> int:
    """Exit status as the shell sees it (argparse usage errors exit 2 through SystemExit)."""
    try:
        return main(argv)
    except SystemExit as e:
        return int(e.code)


def test_cli_show_reads_the_raw_source_files(tmp_path):
    txt = next(p for p in deepmimic.clip_paths() if p.stem.endswith("_jump"))
    assert _run(["data", "show", str(txt), "--out", str(tmp_path / "j.png"), "--frames", "3"]) == 0
    bad = tmp_path / "x.npy"
    np.save(bad, np.zeros((4, 17, 3)))
    assert _run(["data", "show", str(bad), "--out", str(tmp_path / "x.png")]) == 2
    assert not (tmp_path / "x.png").exists()


def test_draw_skeleton_2d_colours_sides_and_skips_low_scores():
    """On a black image: a right bone is drawn red (BGR), a left bone blue; bones with a joint
    below the score threshold are not drawn at all."""
    from structpose.skeleton import H36M17
    from structpose.viz import draw_skeleton_2d
    xy = np.full((17, 2), np.nan)
    J = H36M17.index
    xy[J("r_hip")], xy[J("r_knee")] = (100, 100), (100, 300)
    xy[J("l_hip")], xy[J("l_knee")] = (300, 100), (300, 300)
    xy[J("pelvis")] = (200, 100)
    scores = np.ones(17)
    img = np.zeros((400, 400, 3), np.uint8)
    out = draw_skeleton_2d(img, xy, scores)
    assert img.max() == 0                                         # input untouched
    b, _, r = out[200, 100].astype(int)
    assert r > 150 and b < 100                                    # right thigh: red
    b, _, r = out[200, 300].astype(int)
    assert b > 120 and r < 100                                    # left thigh: blue
    scores[J("l_knee")] = 0.0
    assert draw_skeleton_2d(img, xy, scores)[200, 300].max() == 0
    with pytest.raises(StructposeError):
        draw_skeleton_2d(np.zeros((10, 10), np.uint8), xy)
