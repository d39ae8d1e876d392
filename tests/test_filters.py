"""Filters: properties checked against independent computations and known signal facts."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.signal import lfilter

from structpose.errors import StructposeError
from structpose.filters import OneEuroFilter, moving_average, moving_average_lag, one_euro, savgol, savgol_lag


def test_one_euro_with_beta_zero_is_a_first_order_lowpass():
    # beta = 0 -> constant cut-off: y_t = y_{t-1} + a (x_t - y_{t-1}), computed here with scipy's lfilter
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 17, 3))
    fps, fc = 30.0, 1.5
    a = 1 / (1 + 1 / (2 * math.pi * fc) * fps)
    ref = lfilter([a], [1, -(1 - a)], x[1:], axis=0, zi=((1 - a) * x[0])[None])[0]
    got = one_euro(x, fps, min_cutoff=fc, beta=0.0)
    np.testing.assert_allclose(got[1:], ref, atol=1e-9)
    np.testing.assert_allclose(got[0], x[0])


def test_one_euro_streaming_equals_batch_and_beta_reduces_lag_on_fast_motion():
    t = np.arange(120) / 60.0
    ramp = np.stack([t * 2.0, np.zeros_like(t), np.zeros_like(t)], -1)[:, None]      # 2 m/s, one joint
    f = OneEuroFilter(60.0, min_cutoff=0.5, beta=0.0)
    stream = np.stack([f.step(p) for p in ramp])
    np.testing.assert_allclose(stream, one_euro(ramp, 60.0, 0.5, 0.0))
    slow = np.abs(one_euro(ramp, 60.0, 0.5, 0.0) - ramp)[-1].max()
    fast = np.abs(one_euro(ramp, 60.0, 0.5, 5.0) - ramp)[-1].max()
    assert fast < 0.5 * slow          # the speed-adaptive cut-off follows fast motion more closely


def test_savgol_keeps_polynomials_of_its_order_and_moving_average_keeps_lines():
    t = np.linspace(-1, 1, 41)[:, None, None] * np.ones((1, 17, 3))
    quad = 0.3 * t ** 2 - t + 0.2
    np.testing.assert_allclose(savgol(quad, 11, 2), quad, atol=1e-10)
    line = 2 * t + 1
    ma = moving_average(line, 7)
    np.testing.assert_allclose(ma[3:-3], line[3:-3], atol=1e-10)   # interior: a centred mean keeps a line
    assert savgol_lag(21) == 10 and moving_average_lag(7) == 3


def test_centred_filters_have_no_phase_delay_on_a_sine():
    t = np.arange(300) / 30.0
    x = np.sin(2 * np.pi * 0.5 * t)[:, None]
    for y in (savgol(x, 15, 2), moving_average(x, 9)):
        lags = range(-5, 6)
        err = [np.abs(np.roll(y[20:-20], k, 0) - x[20:-20]).mean() for k in lags]
        assert list(lags)[int(np.argmin(err))] == 0


def test_short_sequences_and_bad_input():
    x = np.ones((2, 17, 3))
    np.testing.assert_allclose(savgol(x, 21, 2), x)        # too short for any window: unchanged
    np.testing.assert_allclose(moving_average(x, 21), x)
    np.testing.assert_allclose(one_euro(x[:1], 30.0), x[:1])
    bad = x.copy()
    bad[0, 0, 0] = np.nan
    for fn in (lambda: savgol(bad, 5), lambda: moving_average(bad, 5), lambda: one_euro(bad, 30.0)):
        with pytest.raises(StructposeError):
            fn()
    with pytest.raises(StructposeError):
        savgol(x, 4)
    with pytest.raises(StructposeError):
        OneEuroFilter(0.0)
