"""The error-model family: the held-out i.i.d. model's statistics against its definition, and the
MediaPipe pairs reader on a small renders file written in the exact format."""
from __future__ import annotations

import json

import numpy as np
import pytest

from structpose.data.error_family import IIDJitter, mediapipe_pairs, write_pairs
from structpose.errors import StructposeError
from structpose.train.render_pairs import KEYS
from structpose.train.tpnet import load_pairs


def _clean(T=4000, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(0, 0.3, (T, 17, 3)) + np.array([0, 0, 4.0])


def test_iid_jitter_covariance_matches_definition():
    # root-relative: e_j = n_j - n_0, so Var(e_j) = 2 s^2 per axis and Cov(e_j, e_k) = s^2 (the shared pelvis noise)
    s = 0.02
    clean = _clean()
    noisy = IIDJitter(jitter=s, outlier_prob=0.0).apply(clean, 30.0, 3)
    e = (noisy - (clean - clean[:, :1])).astype(np.float64)
    assert np.abs(e[:, 0]).max() < 1e-6
    var = e[:, 1:].var(0)                                   # (16, 3)
    assert np.allclose(var, 2 * s * s, rtol=0.12)
    cov = np.mean(e[:, 3, 0] * e[:, 9, 0])
    assert abs(cov - s * s) < 0.25 * s * s
    # independent in time: lag-1 autocorrelation of each joint coordinate ~ 0 (std 1/sqrt(T) ~ 0.016)
    a = np.array([np.corrcoef(e[1:, j, d], e[:-1, j, d])[0, 1] for j in range(1, 17) for d in range(3)])
    assert np.abs(a).mean() < 0.03


def test_iid_outlier_rate_matches_probability():
    # jitter 0: a joint moves iff it or the pelvis was hit, probability 1 - (1 - p)^2
    p, T = 0.05, 3000
    clean = _clean(T, 1)
    noisy = IIDJitter(jitter=0.0, outlier_prob=p, outlier_scale=0.2).apply(clean, 30.0, 4)
    moved = np.linalg.norm(noisy - (clean - clean[:, :1]), axis=-1)[:, 1:] > 1e-5
    expect = 1 - (1 - p) ** 2
    assert abs(moved.mean() - expect) < 4 * np.sqrt(expect * (1 - expect) / moved.size)


def test_iid_bad_parameters_and_shape():
    with pytest.raises(StructposeError, match="jitter"):
        IIDJitter(jitter=-1.0)
    with pytest.raises(StructposeError, match="probability"):
        IIDJitter(outlier_prob=2.0)
    with pytest.raises(StructposeError):
        IIDJitter().apply(np.zeros((5, 16, 3)), 30.0)


def _renders(path, found):
    n = len(found)
    rng = np.random.default_rng(0)
    gt = rng.normal(0, 0.3, (n, 17, 3)).astype(np.float32) + np.array([0, 0, 4], np.float32)
    det = gt - gt[:, :1] + 0.01
    det[~np.asarray(found)] = np.nan
    arrays = {k: np.zeros((n, 1), np.float32) for k in KEYS}
    arrays.update(det_2d=np.zeros((n, 17, 2), np.float32), uv=np.zeros((n, 17, 2), np.float32), joints_cam=gt,
                  det_world=det.astype(np.float32), det_found=np.asarray(found), video=np.ones(n, bool),
                  sequence=np.array([0] * (n - 5) + [1] * 5, np.int32),
                  seq_frame=np.r_[np.arange(n - 5), np.arange(5)].astype(np.int32),
                  fps=np.full(n, 30.0, np.float32), clip=np.array(["a/b"] * n))
    np.savez(path, **arrays, meta=np.array(json.dumps({})))
    return gt


def test_mediapipe_pairs_cut_at_missed_frames(tmp_path):
    # sequence 0: frames 0..24 with a miss at 12 -> runs [0, 12) and [13, 25); sequence 1 (5 frames) too short
    found = [True] * 30
    found[12] = False
    gt = _renders(tmp_path / "r.npz", found)
    seqs = mediapipe_pairs(tmp_path / "r.npz", min_len=11)
    assert [len(g) for _, g, _ in seqs] == [12, 12]
    _, g, p = seqs[1]
    assert np.allclose(g, gt[13:25] - gt[13:25, :1], atol=1e-6)
    assert np.allclose(p[:, 1:] - g[:, 1:], 0.0, atol=1e-5)          # the +1 cm offset cancels root-relative
    write_pairs(seqs, tmp_path / "pairs.npz")
    back = load_pairs(tmp_path / "pairs.npz")                          # the trainer's own reader accepts it
    assert len(back) == 2 and np.allclose(back[1][1], g)
    with pytest.raises(StructposeError, match="no MediaPipe run"):
        mediapipe_pairs(tmp_path / "r.npz", min_len=20)
