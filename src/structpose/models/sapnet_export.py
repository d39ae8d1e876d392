"""SAP-Net deployment helpers: ONNX export, FLOP counting and batch-1 timing.

Shared by ``structpose export onnx``, ``structpose bench sapnet`` and ``benchmarks/bench_sapnet.py``
so that all three time the same inference path: :class:`~structpose.models.sapnet.InferenceHead`
(last stack's heatmaps + depths), batch 1, float32.
"""
from __future__ import annotations

import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch

from ..errors import StructposeError
from ..io.atomic import atomic_path
from .sapnet import InferenceHead, SAPNet


def export_onnx(net: SAPNet, path: str | Path, opset: int = 17) -> Path:
    """Write the inference graph as ONNX: input ``image`` (B, 3, S, S) float32 RGB in [0, 1];
    outputs ``heatmaps`` (B, k, S/4, S/4) and ``depth`` (B, k) normalised crop units."""
    head = InferenceHead(net.eval()).eval()
    s = net.config.input_size
    path = Path(path)
    with atomic_path(path) as tmp, warnings.catch_warnings():
        # the TorchScript exporter: the torch.export-based one needs onnxscript, which we do not ship
        warnings.simplefilter("ignore")
        torch.onnx.export(head, (torch.zeros(1, 3, s, s),), str(tmp), input_names=["image"],
                          output_names=["heatmaps", "depth"], opset_version=opset, dynamo=False,
                          dynamic_axes={"image": {0: "batch"}, "heatmaps": {0: "batch"}, "depth": {0: "batch"}})
    return path


def onnx_session(path: str | Path, threads: int = 2):  # -> onnxruntime.InferenceSession
    try:
        import onnxruntime as ort
    except ImportError:
        raise StructposeError("onnxruntime is not installed; pip install 'structpose[onnx]'") from None
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001  (onnxruntime raises its own types for bad files)
        raise StructposeError(f"cannot load ONNX model {path}: {str(e).splitlines()[0][:120]}") from None


def gflop_per_image(net: SAPNet) -> float:
    """FLOPs of one batch-1 forward pass counted by ``torch.utils.flop_counter`` (2 per multiply-add), /1e9."""
    from torch.utils.flop_counter import FlopCounterMode
    s = net.config.input_size
    head = InferenceHead(net.eval())
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        head(torch.zeros(1, 3, s, s))
    return fc.get_total_flops() / 1e9


def median_seconds(fn: Callable[[], object], warmup: int = 5, repeats: int = 30, max_seconds: float = 20.0) -> float:
    """Median wall time of ``fn()`` after ``warmup`` calls (stops early after ``max_seconds``)."""
    for _ in range(warmup):
        fn()
    times: list[float] = []
    t_end = time.perf_counter() + max_seconds
    while len(times) < repeats and (len(times) < 5 or time.perf_counter() < t_end):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def time_torch(net: SAPNet, channels_last: bool = False, compile: bool = False, repeats: int = 30) -> float:
    """Median seconds per image of the eager (or channels-last / torch.compile) inference path, with
    the caller's torch thread count."""
    s = net.config.input_size
    head = InferenceHead(net.eval()).eval()
    x = torch.rand(1, 3, s, s)
    if channels_last:
        head = head.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    fn = torch.compile(head) if compile else head
    with torch.inference_mode():
        return median_seconds(lambda: fn(x), warmup=5 if not compile else 3, repeats=repeats)
