"""Shared fixtures: real mocap, loaded once per test session."""
from __future__ import annotations

import numpy as np
import pytest

from structpose.data import deepmimic


@pytest.fixture(scope="session")
def deepmimic_clips():
    """All 20 DeepMimic clips of pybullet_data, H36M-17, Y-up world, metres."""
    return deepmimic.load_all()


@pytest.fixture(scope="session")
def deepmimic_camera_poses(deepmimic_clips):
    """Every DeepMimic frame in a front camera frame (x right, y down, z forward): (N, 17, 3)."""
    return np.concatenate([c.in_camera() for c in deepmimic_clips])


@pytest.fixture(autouse=True)
def _restore_torch_threads():
    """Commands run in-process set torch's thread count (the command owns the process's threads); put it back,
    so a later in-process training run is not computed with another reduction order than its CLI twin."""
    import torch
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)
