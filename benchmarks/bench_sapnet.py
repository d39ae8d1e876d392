"""SAP-Net inference speed, batch 1, float32, 2 threads: paper vs real-time config; eager vs
channels-last vs torch.compile vs ONNX Runtime; FLOPs counted by FlopCounterMode; the ratio of the
achieved GFLOP/s to this machine's matmul peak, measured in the same run.  Also the renderer's speed
(crops/s), which bounds how fast training data can be made here.

Each measurement runs in a fresh process, with ``OMP_WAIT_POLICY=PASSIVE`` (threads sleep when idle) and,
for eager, also ``ACTIVE`` (spin-waiting, libgomp's default behaviour): on a machine whose cores are shared
with other jobs, spinning threads starve each other and 2-thread eager PyTorch can be ~10x slower.
``python -m benchmarks sapnet``; ``SAPNET_BENCH_QUICK=1`` skips torch.compile (it compiles for minutes).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from structpose.models.sapnet import SAPNet
from structpose.models.sapnet_export import export_onnx, gflop_per_image, time_torch

from ._helpers import matmul_peak_gflops, time_onnx

THREADS = 2


def _row(name: str, gflop: float, sec: float | None, peak: float, base: float | None, note: str = "") -> str:
    if sec is None:
        return f"| {name:<34} | {gflop:7.2f} |      n/a |     n/a |    n/a |     n/a | {note}"
    rate = gflop / sec
    return (f"| {name:<34} | {gflop:7.2f} | {1000 * sec:8.1f} | {1 / sec:7.1f} | {rate / peak:6.1%} | "
            f"{(base / sec if base else 1.0):6.2f}x | {note}")


def bench_render() -> str:
    from structpose.data.deepmimic import load_all
    from structpose.render import render_dataset
    clips = load_all()
    out = []
    for size in (64, 128):
        render_dataset(clips[:2], 3, size, seed=0)
        t = time.perf_counter()
        render_dataset(clips, 40, size, seed=1)
        out.append(f"renderer: {40 / (time.perf_counter() - t):.0f} crops/s at {size}x{size} (1 process)")
    return "\n".join(out)


def _one(cfg: str, path: str) -> dict:
    """Measure one (config, path) in this process (called in a fresh subprocess by :func:`main`)."""
    if path == "peak":
        return {"gflops": matmul_peak_gflops(2048, THREADS)}
    torch.manual_seed(0)
    net = SAPNet(cfg).eval()
    reps = 30 if cfg == "realtime" else 8
    # this row's own peak, measured in the same process just before: the load of a shared machine
    # drifts within minutes, so a ratio to a peak taken elsewhere would mislead
    out = {"gflop": gflop_per_image(net), "peak": matmul_peak_gflops(2048, THREADS)}
    t0 = time.perf_counter()
    if path == "onnx":
        with tempfile.TemporaryDirectory() as d:
            out["sec"] = time_onnx(export_onnx(net, Path(d) / "m.onnx"), net.config.input_size, THREADS, reps)
    else:
        torch.set_num_threads(THREADS)
        out["sec"] = time_torch(net, channels_last=path == "channels-last", compile=path == "compile",
                                repeats=reps)
    out["wall"] = time.perf_counter() - t0
    return out


def _measure(cfg: str, path: str, policy: str) -> dict:
    """Run :func:`_one` in a fresh process: OMP_WAIT_POLICY is read once, when torch loads OpenMP."""
    env = {**os.environ, "OMP_WAIT_POLICY": policy}
    try:
        r = subprocess.run([sys.executable, "-m", "benchmarks.bench_sapnet", "--one", cfg, path], env=env,
                           capture_output=True, text=True, timeout=900, check=False)
    except subprocess.TimeoutExpired:
        return {"error": "timeout (900 s)"}
    if r.returncode != 0:
        return {"error": (r.stderr.strip().splitlines() or ["?"])[-1][:60]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    # the peak under the same thread policy as the model timings (a fresh process, PASSIVE); each row
    # also measures its own peak right before its timing, and its ratio uses that one
    m = _measure("realtime", "peak", "PASSIVE")
    if "error" in m:
        raise RuntimeError(f"matmul peak measurement failed: {m['error']}")
    peak = m["gflops"]
    quick = bool(os.environ.get("SAPNET_BENCH_QUICK"))
    print(f"machine: {os.cpu_count()} cores visible, torch {torch.__version__}, {THREADS} threads; "
          f"matmul peak (2048^2 float32, median, passive) {peak:.1f} GFLOP/s; load average {os.getloadavg()[0]:.1f}")
    print("| config / path (OMP_WAIT_POLICY)    | GFLOP/img | ms/img | img/s | % of row's matmul peak | vs eager | note")
    print("|------------------------------------|---------|----------|---------|--------|---------|")
    for cfg in ("realtime", "paper"):
        base = None
        for path, policy in (("eager", "PASSIVE"), ("eager", "ACTIVE"), ("channels-last", "PASSIVE"),
                             ("compile", "PASSIVE"), ("onnx", "PASSIVE")):
            name = f"{cfg} {path} ({policy.lower()})"
            if path == "compile" and quick:
                print(_row(name, float("nan"), None, peak, base, "skipped (SAPNET_BENCH_QUICK)"))
                continue
            m = _measure(cfg, path, policy)
            if "error" in m:
                print(_row(name, float("nan"), None, peak, base, f"failed: {m['error']}"), flush=True)
                continue
            note = f"row peak {m['peak']:.0f} GFLOP/s" + (f"; compile + warm-up {m['wall']:.0f} s"
                                                          if path == "compile" else "")
            print(_row(name, m["gflop"], m["sec"], m["peak"], base, note), flush=True)
            base = base or m["sec"]
    print(bench_render())


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--one":
        print(json.dumps(_one(sys.argv[2], sys.argv[3])))
    else:
        main()
