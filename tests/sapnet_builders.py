"""A tiny SAP-Net stage config on renders of real mocap (seconds to train), shared by the SAP-Net training tests."""
from __future__ import annotations

import json
from pathlib import Path

import yaml

TINY = {
    "stage": 3,
    "model": {"preset": "realtime", "channels": 16, "input_size": 64, "num_stacks": 1},
    "data": {"renders": {"num_2d": 24, "num_3d": 24, "num_test": 0, "size": 64, "seed": 0},
             "clips_3d": ["deepmimic/walk", "deepmimic/jump"], "clips_2d": ["deepmimic/run"], "clips_test": []},
    "train": {"steps": 30, "batch_size": 4, "lr": 1e-3, "checkpoint_every": 5, "log_every": 5, "threads": 1,
              "weights": {"heatmap": 1.0, "depth": 1.0, "lambda_g": 0.03, "lambda_a": 0.03, "lambda_s": 0.05}},
}


def tiny_config(tmp_path: Path, data: dict | None = None, **train) -> Path:
    cfg = json.loads(json.dumps(TINY))
    cfg["data"]["cache_dir"] = str(tmp_path / "cache")
    cfg["data"].update(data or {})
    cfg["train"].update(train)
    p = tmp_path / "tiny.yaml"
    p.write_text(yaml.safe_dump(cfg))
    return p
