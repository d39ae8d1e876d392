"""Foot contacts and two-bone IK: geometric facts, real-mocap truth, causality."""
from __future__ import annotations

import numpy as np
import pytest

from structpose.contacts import (
    ANKLES,
    LEGS,
    contact_probability,
    hysteresis,
    pin_feet,
    still_probability,
    two_bone_ik,
)
from structpose.world import ANKLE_FRAC, standing_height


def test_two_bone_ik_keeps_bone_lengths_and_reaches_the_target():
    rng = np.random.default_rng(0)
    hip = rng.normal(size=(500, 3))
    knee = hip + rng.normal(size=(500, 3)) * 0.3
    ankle = knee + rng.normal(size=(500, 3)) * 0.3
    l1, l2 = np.linalg.norm(knee - hip, axis=-1), np.linalg.norm(ankle - knee, axis=-1)
    direction = rng.normal(size=(500, 3))
    direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
    reach = np.abs(l1 - l2) + rng.uniform(0.05, 0.95, 500) * (l1 + l2 - np.abs(l1 - l2))
    target = hip + reach[:, None] * direction
    k2, a2 = two_bone_ik(hip, knee, ankle, target)
    assert np.abs(np.linalg.norm(k2 - hip, axis=-1) - l1).max() < 1e-9
    assert np.abs(np.linalg.norm(a2 - k2, axis=-1) - l2).max() < 1e-9
    assert np.abs(a2 - target).max() < 1e-9
    # the knee stays on the old knee's side of the hip-target line (same bend plane, same side)
    e = direction
    old = (knee - hip) - ((knee - hip) * e).sum(-1, keepdims=True) * e
    new = (k2 - hip) - ((k2 - hip) * e).sum(-1, keepdims=True) * e
    big = np.linalg.norm(old, axis=-1) > 1e-3
    cos = (old * new).sum(-1) / np.linalg.norm(old, axis=-1) / np.maximum(np.linalg.norm(new, axis=-1), 1e-12)
    assert cos[big].min() > 1 - 1e-6


def test_two_bone_ik_out_of_reach_stretches_towards_the_target():
    hip, knee, ankle = np.zeros(3), np.array([0, -0.4, 0.05]), np.array([0, -0.8, 0.0])
    l1, l2 = np.linalg.norm(knee - hip), np.linalg.norm(ankle - knee)
    target = np.array([0.0, -3.0, 0.0])
    k2, a2 = two_bone_ik(hip, knee, ankle, target)
    assert np.linalg.norm(a2 - hip) == pytest.approx(l1 + l2, abs=1e-5)
    assert np.allclose(a2 / np.linalg.norm(a2), [0, -1, 0], atol=1e-6)
    assert np.linalg.norm(k2 - hip) == pytest.approx(l1, abs=1e-9)


def _walks(deepmimic_clips):
    return [c for c in deepmimic_clips if c.name.startswith(("deepmimic/walk", "deepmimic/run"))]


def test_contacts_on_real_mocap_match_height_and_speed_truth(deepmimic_clips):
    """On real walking/running mocap (floor y = 0): where the ankle is within 2 cm of its lowest and
    slower than 0.1 m/s the detector says contact, where it is 15 cm higher or faster than 1.2 m/s it
    does not (thresholds different from the detector's own)."""
    hit = miss = n_on = n_off = 0
    for c in _walks(deepmimic_clips):
        w = np.asarray(c.world, float)
        ah = ANKLE_FRAC * standing_height(w)
        on = hysteresis(contact_probability(w, c.fps, ah))
        a = w[:, list(ANKLES)]
        st = np.linalg.norm(np.diff(a[..., [0, 2]], axis=0), axis=-1) * c.fps
        v = np.r_[st[:1], np.maximum(st[:-1], st[1:]), st[-1:]]
        low = a[..., 1] - a[..., 1].min(0)
        sure_on = (low < 0.02) & (v < 0.1)
        sure_off = (low > 0.15) | (v > 1.2)
        hit += (on & sure_on).sum()
        n_on += sure_on.sum()
        miss += (on & sure_off).sum()
        n_off += sure_off.sum()
    assert n_on > 100 and n_off > 100
    assert hit / n_on > 0.9
    assert miss / n_off < 0.05


def test_pinned_feet_do_not_slide_and_keep_leg_lengths(deepmimic_clips):
    c = next(c for c in deepmimic_clips if c.name == "deepmimic/walker_0walk_forward")
    w = np.asarray(c.world, float)
    rng = np.random.default_rng(1)
    noisy = w + rng.normal(scale=0.015, size=w.shape)             # jitter like a lifter's
    ah = ANKLE_FRAC * standing_height(w)
    on = hysteresis(contact_probability(w, c.fps, ah))
    out = pin_feet(noisy, on, c.fps, ah).astype(float)
    for f, (hip, knee, ank) in enumerate(LEGS):
        pairs = np.flatnonzero(on[1:, f] & on[:-1, f]) + 1
        slide_in = np.linalg.norm(np.diff(noisy[:, ank, [0, 2]], axis=0), axis=-1)[pairs - 1]
        slide_out = np.linalg.norm(np.diff(out[:, ank, [0, 2]], axis=0), axis=-1)[pairs - 1]
        # where the leg reaches the pin (not stretched straight) the ankle is exactly on it
        reach = (np.linalg.norm(out[:, knee] - out[:, hip], axis=-1) + np.linalg.norm(out[:, ank] - out[:, knee], axis=-1)
                 - np.linalg.norm(out[:, ank] - out[:, hip], axis=-1)) > 1e-4
        held = pairs[reach[pairs] & reach[pairs - 1]]
        assert len(held) > 5
        assert np.abs(out[held, ank] - out[held - 1, ank]).max() < 1e-6
        assert np.abs(out[held, ank, 1] - ah).max() < 1e-5
        assert slide_out.mean() < 0.2 * slide_in.mean()
        for a, b in ((hip, knee), (knee, ank)):
            assert np.abs(np.linalg.norm(out[:, b] - out[:, a], axis=-1)
                          - np.linalg.norm(noisy[:, b] - noisy[:, a], axis=-1)).max() < 1e-5
    others = [j for j in range(17) if j not in (2, 3, 5, 6)]
    assert np.array_equal(out[:, others], noisy[:, others].astype(np.float32))
    # blended in and out: no frame-to-frame jump of the ankle larger than the input's own motion + 3 cm
    jump_in = np.linalg.norm(np.diff(noisy[:, list(ANKLES)], axis=0), axis=-1)
    jump_out = np.linalg.norm(np.diff(out[:, list(ANKLES)], axis=0), axis=-1)
    assert (jump_out - jump_in).max() < 0.03


def test_online_contacts_and_pinning_are_causal(deepmimic_clips):
    c = next(c for c in deepmimic_clips if c.name == "deepmimic/walk")
    w = np.asarray(c.world, float) + np.random.default_rng(2).normal(scale=0.01, size=c.world.shape)
    ah = 0.06
    p = contact_probability(w, c.fps, ah, causal=True)
    on = hysteresis(p)
    full = pin_feet(w, on, c.fps, ah, causal=True)
    for k in (5, 17, 30):
        pk = contact_probability(w[:k], c.fps, ah, causal=True)
        assert np.array_equal(pk, p[:k], equal_nan=True)
        assert np.array_equal(hysteresis(pk), on[:k])
        assert np.array_equal(pin_feet(w[:k], on[:k], c.fps, ah, causal=True), full[:k])


def test_still_feet_on_real_mocap_in_any_frame_and_causal(deepmimic_clips):
    """Still-foot probability (no floor known): on real walking, seen in a rotated, shifted frame (it must
    not need Y up), feet resting on the floor (within 2 cm of their lowest, a cue it does not read) score
    high online and feet 15 cm up in a swing score low; a prefix gives the same output (causal)."""
    rng = np.random.default_rng(4)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    rest = swing = n_rest = n_swing = 0.0
    for c in _walks(deepmimic_clips):
        w = np.asarray(c.world, float)
        seen = w @ q.T + np.array([0.4, -1.0, 3.0])
        p = still_probability(seen, c.fps, causal=True)
        low = w[:, list(ANKLES), 1] - w[:, list(ANKLES), 1].min(0)
        rest += p[low < 0.02].sum()
        n_rest += (low < 0.02).sum()
        swing += p[low > 0.15].sum()
        n_swing += (low > 0.15).sum()
        for k in (4, 19):
            assert np.array_equal(still_probability(seen[:k], c.fps, causal=True), p[:k])
    assert n_rest > 100 and n_swing > 50
    assert rest / n_rest > 0.8
    assert swing / n_swing < 0.1
