"""The data folder: ``$STRUCTPOSE_DATA``, or ``~/.cache/structpose`` when it is unset or empty.

Fetched sources, render sets, model caches (Anny, ONNX, NumPy weights) all live under it, never in the repo.
"""
from __future__ import annotations

import os
from pathlib import Path


def data_folder() -> Path:
    env = os.environ.get("STRUCTPOSE_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "structpose"
