"""PA-MPJPE throughput: vectorised numpy / torch on 1,000,000 poses vs a naive per-pose loop.

Target (issue 2): 1,000,000 poses x 17 joints in < 10 s on 2 CPU cores.  Poses are real DeepMimic
frames (camera frame, root-relative) tiled to a million, the predictions those frames plus 3 cm
Gaussian noise and a random similarity transform (so the alignment has work to do).  The naive loop
(one SVD per pose, the way per-sample evaluation scripts do it) is timed on a subset and extrapolated.
"""
from __future__ import annotations

import os
import time

import numpy as np
import torch

from structpose.data import deepmimic
from structpose.metrics import pa_mpjpe, root_relative

N_POSES = int(os.environ.get("STRUCTPOSE_BENCH_POSES", "1000000"))
N_NAIVE = 5_000


def _naive_pa_mpjpe(pred: np.ndarray, gt: np.ndarray) -> float:
    errs = []
    for p, g in zip(pred, gt):
        x, y = p - p.mean(0), g - g.mean(0)
        u, s, vt = np.linalg.svd(y.T @ x)
        d = np.sign(np.linalg.det(u @ vt))
        R = u @ np.diag([1.0, 1.0, d]) @ vt
        scale = (s * [1.0, 1.0, d]).sum() / (x * x).sum()
        errs.append(np.linalg.norm(scale * x @ R.T - y, axis=1).mean())
    return float(np.mean(errs))


def _batched_svd_pa_mpjpe(pred: np.ndarray, gt: np.ndarray) -> float:
    """The common vectorised form (one batched LAPACK SVD call, as in VideoPose3D's p_mpjpe)."""
    x = pred - pred.mean(1, keepdims=True)
    y = gt - gt.mean(1, keepdims=True)
    u, s, vt = np.linalg.svd(np.matmul(y.transpose(0, 2, 1), x))
    d = np.sign(np.linalg.det(np.matmul(u, vt)))
    u[:, :, -1] *= d[:, None]
    s[:, -1] *= d
    R = np.matmul(u, vt)
    scale = s.sum(1) / (x * x).sum((1, 2))
    aligned = scale[:, None, None] * np.matmul(x, R.transpose(0, 2, 1))
    return float(np.linalg.norm(aligned - y, axis=-1).mean())


def _data(n: int) -> tuple[np.ndarray, np.ndarray]:
    real = root_relative(np.concatenate([c.in_camera() for c in deepmimic.load_all()]))
    gt = np.resize(real, (n, 17, 3)).astype(np.float32)
    rng = np.random.default_rng(0)
    pred = gt + rng.normal(0, 0.03, gt.shape).astype(np.float32)
    angle = rng.uniform(-np.pi, np.pi, n).astype(np.float32)       # rotate about the camera's y axis
    c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
    x, z = pred[..., 0].copy(), pred[..., 2].copy()
    pred[..., 0], pred[..., 2] = c * x + s * z, -s * x + c * z
    pred *= rng.uniform(0.8, 1.25, (n, 1, 1)).astype(np.float32)
    return pred, gt


def _time(fn, *args) -> tuple[float, float]:
    t0 = time.perf_counter()
    value = fn(*args)
    return time.perf_counter() - t0, float(value)


def main() -> None:
    torch.set_num_threads(2)
    load = os.getloadavg()[0]
    pred, gt = _data(N_POSES)
    rows = []
    t, v_naive = _time(_naive_pa_mpjpe, pred[:N_NAIVE].astype(np.float64), gt[:N_NAIVE].astype(np.float64))
    naive_rate = N_NAIVE / t
    rows.append(("naive per-pose loop (numpy SVD)", N_NAIVE, t, N_POSES / naive_rate, v_naive))
    t, v_np_sub = _time(pa_mpjpe, pred[:N_NAIVE], gt[:N_NAIVE])
    assert abs(v_np_sub - v_naive) < 1e-6, (v_np_sub, v_naive)       # same numbers, not just faster
    n_batched = min(N_POSES, 200_000)
    t, v_b = _time(_batched_svd_pa_mpjpe, pred[:n_batched].astype(np.float64), gt[:n_batched].astype(np.float64))
    rows.append(("batched LAPACK SVD, one call (VideoPose3D style)", n_batched, t, t * N_POSES / n_batched, v_b))
    t, v = _time(pa_mpjpe, pred, gt)
    rows.append(("structpose pa_mpjpe, numpy (Jacobi, 2 threads)", N_POSES, t, t, v))
    tp, tg = torch.from_numpy(pred), torch.from_numpy(gt)
    t, v_t = _time(lambda a, b: pa_mpjpe(a, b).item(), tp, tg)
    rows.append(("structpose pa_mpjpe, torch tensors (no grad)", N_POSES, t, t, v_t))
    n_grad = N_POSES // 10                                           # torch SVD path, used when grads flow
    sub_p, sub_g = tp[:n_grad].clone().requires_grad_(True), tg[:n_grad]
    t, v_g = _time(lambda a, b: pa_mpjpe(a, b).item(), sub_p, sub_g)
    rows.append(("structpose pa_mpjpe, torch autograd (torch SVD)", n_grad, t, t * N_POSES / n_grad, v_g))
    print(f"PA-MPJPE on {N_POSES:,} poses x 17 joints, {torch.get_num_threads()} torch threads, "
          f"{os.cpu_count()} CPUs visible, load average {load:.1f} at start")
    print(f"{'method':<48s} {'poses timed':>11s} {'time (s)':>9s} {'1M-pose s':>10s} {'poses/s':>11s} "
          f"{'speed-up':>9s} {'PA-MPJPE mm':>12s}")
    for name, n, t, t_full, value in rows:
        rate = n / t
        print(f"{name:<48s} {n:>11,d} {t:>9.2f} {t_full * 1_000_000 / N_POSES:>10.2f} {rate:>11,.0f} "
              f"{rate / naive_rate:>8.1f}x {1000 * value:>12.3f}")
    verdict = "PASS" if rows[2][2] * 1_000_000 / N_POSES < 10.0 else "FAIL"
    print(f"target: 1M poses < 10 s (numpy path): {verdict}")


if __name__ == "__main__":
    main()
