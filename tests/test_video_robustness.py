"""`structpose video` on damaged input: one line without OpenCV/FFmpeg chatter, a warning for a truncated file,
and SIGTERM during --render cleans its temporary files as Ctrl-C does."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCV_")}
    return {**env, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def _video(path: Path, n: int, fourcc: str = "MJPG", size: int = 64) -> Path:
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 30, (size, size))
    for i in range(n):
        w.write(np.full((size, size, 3), (i * 4) % 255, np.uint8))
    w.release()
    return path


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "structpose", "video", *args, "--no-progress"], env=_env(),
                          capture_output=True, text=True, timeout=300, check=False)


def test_corrupt_video_and_bad_url_are_one_line_without_native_chatter(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 12)
    for src in (str(bad), "http://127.0.0.1:9/none.mp4"):
        r = _run(src, "--out", str(tmp_path / "o.npz"), "--mode", "none")
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert r.stderr.startswith("structpose video: error:")
    # the chatter is real: OpenCV alone, with its default log level, prints FFmpeg's complaint
    probe = subprocess.run([sys.executable, "-c", f"import cv2; cv2.VideoCapture({str(bad)!r})"], env=_env(),
                           capture_output=True, text=True, timeout=60, check=False)
    assert probe.stderr.strip(), "expected OpenCV/FFmpeg to print something for a corrupt file"


def test_truncated_video_warns_with_both_counts(tmp_path):
    whole = _video(tmp_path / "whole.avi", 30)
    data = whole.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    r = _run(str(cut), "--out", str(tmp_path / "o.npz"), "--mode", "none")
    assert r.returncode == 0, r.stderr
    warn = [ln for ln in r.stderr.splitlines() if "header announces" in ln]
    assert len(warn) == 1 and "30 frames" in warn[0]
    r = _run(str(whole), "--out", str(tmp_path / "w.npz"), "--mode", "none")
    assert r.returncode == 0 and "header announces" not in r.stderr


def test_sigterm_during_render_leaves_no_temporary_file(tmp_path):
    src = _video(tmp_path / "long.avi", 300)
    render = tmp_path / "r.mp4"
    proc = subprocess.Popen([sys.executable, "-m", "structpose", "video", str(src), "--out", str(tmp_path / "o.npz"),
                             "--render", str(render), "--mode", "online", "--no-progress"], env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    t_end = time.time() + 120
    while not list(tmp_path.glob(".r.mp4.*")) and proc.poll() is None and time.time() < t_end:
        time.sleep(0.02)
    assert list(tmp_path.glob(".r.mp4.*")), "the render's temporary file should exist mid-run"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert not list(tmp_path.glob(".*")) and not render.exists() and not (tmp_path / "o.npz").exists()


def test_sigkill_never_leaves_a_file_at_the_final_paths(tmp_path):
    """SIGKILL cannot be caught: a hidden temporary file may remain, but nothing at --out or --render."""
    src = _video(tmp_path / "long.avi", 300)
    proc = subprocess.Popen([sys.executable, "-m", "structpose", "video", str(src), "--out", str(tmp_path / "o.npz"),
                             "--render", str(tmp_path / "r.mp4"), "--mode", "online", "--no-progress"], env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t_end = time.time() + 120
    while not list(tmp_path.glob(".r.mp4.*")) and proc.poll() is None and time.time() < t_end:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "o.npz").exists() and not (tmp_path / "r.mp4").exists()


def test_sigterm_clean_up_finds_a_temporary_whose_name_is_not_yet_registered(tmp_path):
    """The signal can land between mkstemp and the registration of the name it made: the clean-up must find that
    file by the output's name pattern (run in a child process: the clean-up keeps a lock until the process ends)."""
    final = tmp_path / "r.mp4"
    code = (
        "import os, pathlib\n"
        "from structpose.io import atomic\n"
        f"final = pathlib.Path({str(final)!r})\n"
        "with atomic.atomic_path(final) as tmp:\n"
        "    (final.parent / '.r.mp4.unregistered.mp4').write_bytes(b'x')   # as mkstemp names it\n"
        "    (final.parent / '.other.npz.keep.npz').write_bytes(b'x')      # not an output of this write\n"
        "    atomic.remove_temporaries()\n"
        "    print(sorted(p.name for p in final.parent.glob('.*')))\n"
        "    os._exit(0)\n")
    r = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=60,
                       check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "['.other.npz.keep.npz']"
