"""The per-frame estimator error model: each documented failure mode is present and controlled."""
from __future__ import annotations

import numpy as np
import pytest

from structpose.data.error_model import ErrorModel
from structpose.errors import StructposeError

OFF = {"jitter": 0, "bias": 0, "bone_wobble": 0, "bone_jitter": 0, "outlier_prob": 0, "swap_prob": 0}


@pytest.fixture(scope="module")
def clip(deepmimic_clips):
    x = np.concatenate([c.in_camera() for c in deepmimic_clips[:6]])
    return x.astype(np.float64)


def _rel(x):
    return x - x[:, :1]


def test_all_off_is_identity_and_root_is_the_origin(clip):
    out = ErrorModel(**OFF).apply(clip, 30.0, 0)
    np.testing.assert_allclose(out, _rel(clip), atol=1e-5)
    noisy = ErrorModel().apply(clip, 30.0, 0)
    assert np.abs(noisy[:, 0]).max() == 0


def test_seeded_and_batched(clip):
    em = ErrorModel()
    np.testing.assert_array_equal(em.apply(clip, 30, 3), em.apply(clip, 30, 3))
    assert not np.allclose(em.apply(clip, 30, 3), em.apply(clip, 30, 4))
    batch = np.stack([clip[:20], clip[20:40]])
    assert em.apply(batch, 30, 0).shape == (2, 20, 17, 3)


def test_errors_are_depth_dominant(clip):
    em = ErrorModel(**{**OFF, "jitter": 0.01, "bias": 0.01})
    err = em.apply(clip, 30.0, 0) - _rel(clip)
    sx, sy, sz = err[:, 1:].reshape(-1, 3).std(0)
    assert sz / sx == pytest.approx(em.depth_factor, rel=0.15)
    assert sz / sy == pytest.approx(em.depth_factor, rel=0.15)


def test_bias_is_temporally_correlated_in_seconds_and_jitter_is_not(clip):
    def lag_corr(e, k):
        a, b = e[:-k].ravel(), e[k:].ravel()
        return np.corrcoef(a, b)[0, 1]
    tau = 0.5
    bias = ErrorModel(**{**OFF, "bias": 0.02, "bias_tau": tau})
    e30 = bias.apply(clip, 30.0, 1)[:, 1:] - _rel(clip)[:, 1:]
    assert lag_corr(e30, 1) == pytest.approx(np.exp(-1 / (tau * 30)), abs=0.03)
    e60 = bias.apply(clip, 60.0, 1)[:, 1:] - _rel(clip)[:, 1:]      # same seconds -> 2 frames at 60 fps
    assert lag_corr(e60, 2) == pytest.approx(lag_corr(e30, 1), abs=0.03)
    jit = ErrorModel(**{**OFF, "jitter": 0.02}).apply(clip, 30.0, 1)[:, 1:] - _rel(clip)[:, 1:]
    assert abs(lag_corr(jit, 1)) < 0.05


def test_bone_wobble_changes_lengths_and_swaps_exchange_sides(clip):
    out = ErrorModel(**{**OFF, "bone_wobble": 0.05}).apply(clip, 30.0, 2)
    thigh = np.linalg.norm(out[:, 2] - out[:, 1], axis=-1)
    true = np.linalg.norm(clip[:, 2] - clip[:, 1], axis=-1)
    rel_std = (thigh / true).std()
    assert 0.02 < rel_std < 0.08
    sw = ErrorModel(**{**OFF, "swap_prob": 1.0, "swap_len": 1}).apply(clip, 30.0, 3)
    rel = _rel(clip)
    legs = np.all(np.isclose(sw[:, [1, 2, 3]], rel[:, [4, 5, 6]], atol=1e-5), axis=(1, 2))
    arms = np.all(np.isclose(sw[:, [14, 15, 16]], rel[:, [11, 12, 13]], atol=1e-5), axis=(1, 2))
    assert (legs | arms).mean() > 0.95 and legs.mean() > 0.2 and arms.mean() > 0.2


def test_outliers_are_rare_and_large(clip):
    em = ErrorModel(**{**OFF, "outlier_prob": 0.01, "outlier_scale": 0.2, "outlier_len": 1})
    d = np.linalg.norm(em.apply(clip, 30.0, 4) - _rel(clip), axis=-1)[:, 1:]
    hit = d > 1e-6
    assert 0.003 < hit.mean() < 0.03 and np.median(d[hit]) > 0.1


def test_bad_parameters():
    with pytest.raises(StructposeError):
        ErrorModel(jitter=-1)
    with pytest.raises(StructposeError):
        ErrorModel(bias_tau=0)
    with pytest.raises(StructposeError):
        ErrorModel().apply(np.zeros((5, 16, 3)), 30.0)
