"""The online (causal) world step on the issue's bad inputs, and still feet pinned where no floor is found.

Real walking (DeepMimic) seen by a camera; the bad inputs are built from it: a single frame, a person who
never stands (sliding sideways at 3 m/s), a camera that rises while the person walks there and back."""
from __future__ import annotations

import numpy as np
import pytest

from structpose import world as W
from structpose.cameras import look_at
from structpose.contacts import LEGS
from structpose.world import to_world


@pytest.fixture(scope="module")
def walk(deepmimic_clips):
    """The DeepMimic walking clips one after another (each moved to start where the last ended), and a
    camera 5 m away looking at it: camera-frame poses (T, 17, 3), the world poses, R, t."""
    parts, end = [], np.zeros(3)
    for c in deepmimic_clips:
        if c.name.startswith("deepmimic/walker_0walk_forward") or c.name.startswith("deepmimic/walk"):
            w = np.asarray(c.world, float).copy()
            w[..., [0, 2]] += (end - w[0, 0])[[0, 2]]
            parts.append(w)
            end = w[-1, 0]
    world = np.concatenate(parts)
    target = world[:, 0].mean(0)
    R, t = look_at(target + np.array([1.5, 2.2, 4.5]), target)
    return world @ R.T + t, world, R, t


def _moving_camera(world, R, t):
    """The walk there and back, seen by a camera rising 1 m over it (a crane shot)."""
    there_back = np.concatenate([world, world[::-1]])
    T = len(there_back)
    return np.stack([there_back[i] @ R.T + t - R @ np.array([0, 1.0 * i / T, 0]) for i in range(T)])


def test_online_bad_inputs_fall_back_with_one_reason(walk):
    cam, world, R, t = walk
    slide = world + (np.arange(len(world)) * 3.0 / 30.0)[:, None, None] * np.array([1.0, 0, 0])
    for poses, reason in ((cam[:1], "a single frame"), (slide @ R.T + t, "no floor contact"),
                          (_moving_camera(world, R, t), "the camera moves")):
        res = to_world(poses, 30.0, mode="online")
        assert res.status.startswith(f"fallback: {reason}"), res.status
        assert "\n" not in res.status and res.floor is None and res.contacts is None
        assert np.isfinite(res.poses_world).all() and res.meta["mode"] == "online"
    assert to_world(cam, 30.0, mode="online").status == "ok"


def test_online_fallback_pins_still_feet_keeping_the_bones(walk, monkeypatch):
    """Where no floor is found, online, still feet are pulled towards the 3D point they hold: only the
    legs below the hips change, thigh and shin keep their lengths, and the pull moves the ankles of
    frames whose foot is still less from frame to frame than without it."""
    _, world, R, t = walk
    moving = _moving_camera(world, R, t)
    k = np.exp(np.random.default_rng(1).normal(scale=0.05, size=(len(moving), 1, 1)))
    moving = moving - moving[:, :1] + moving[:, :1] * k              # the chain's depth jitter
    pinned = to_world(moving, 30.0, mode="online")
    monkeypatch.setattr(W, "PIN_STRENGTH_FALLBACK_ONLINE", 0.0)
    free = to_world(moving, 30.0, mode="online")
    assert pinned.status == free.status and pinned.status.startswith("fallback")
    a, b = pinned.poses_world.astype(float), free.poses_world.astype(float)
    legs = [j for leg in LEGS for j in leg[1:]]
    others = [j for j in range(17) if j not in legs]
    assert np.abs(a[:, others] - b[:, others]).max() < 1e-6
    assert np.abs(a - b).max() > 1e-3                                # the pins did something
    for hip, knee, ank in LEGS:
        for x, y in ((hip, knee), (knee, ank)):
            np.testing.assert_allclose(np.linalg.norm(a[:, x] - a[:, y], axis=-1),
                                       np.linalg.norm(b[:, x] - b[:, y], axis=-1), atol=1e-5)
    ankles = [leg[2] for leg in LEGS]
    step = lambda p: np.linalg.norm(np.diff(p[:, ankles], axis=0), axis=-1)
    moved = np.abs(a - b)[1:, ankles].max(-1) > 1e-6               # frame pairs where a pin acted
    assert step(a)[moved].mean() < step(b)[moved].mean()
