"""``structpose bench sapnet --config paper|realtime [--runtime auto|onnx|torch|all] [--json]``: the product's
inference path, timed (``auto``: the runtime ``image --model sapnet`` picks).

Batch 1, float32, 2 threads, warm-up then the median of repeated runs; GFLOP per image counted with
``torch.utils.flop_counter.FlopCounterMode``.  Randomly initialised weights of the named architecture
(speed does not depend on the weight values), or ``--weights`` to time a trained file.

On cores shared with other jobs, set ``OMP_WAIT_POLICY=PASSIVE``: OpenMP's spinning idle threads made
2-thread eager PyTorch 10-30x slower under contention here (and PASSIVE ~3x slower on a quiet machine);
the JSON reports the policy in effect.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ._groups import group


def register(sub: argparse._SubParsersAction) -> None:
    p = group(sub, "bench").add_parser(
        "sapnet", help="time SAP-Net inference (img/s, GFLOP/img)",
        description="Time SAP-Net's inference path: batch 1, float32, warm-up then median.")
    p.add_argument("--config", default="realtime", choices=["paper", "realtime"])
    p.add_argument("--weights", help="time this weights file instead of the architecture of --config")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=30)
    p.add_argument("--runtime", choices=["auto", "onnx", "torch", "all"], default="auto",
                   help="auto (default): the runtime the product picks (ONNX Runtime when installed, else torch); "
                        "onnx, torch, or all of those installed, side by side")
    p.add_argument("--json", action="store_true", help="print one JSON object per runtime (img_per_s, gflop_per_img, ...)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import os

    import torch

    from ..errors import StructposeError
    from ..models.sapnet import SAPNet, load_weights
    from ..models.sapnet_export import gflop_per_image, time_torch
    if args.threads < 1 or args.repeats < 1:
        raise StructposeError("--threads and --repeats must be >= 1")
    if args.weights:
        net, _, _ = load_weights(args.weights)
    else:
        torch.manual_seed(0)
        net = SAPNet(args.config)
    import tempfile

    import numpy as np

    from ..models.sapnet_export import export_onnx, median_seconds, onnx_session
    from ..pipeline.sapnet import onnx_available, pick_runtime
    gflop = gflop_per_image(net)
    torch.set_num_threads(args.threads)
    if args.runtime == "all":
        runtimes = ["torch", "onnx"] if onnx_available() else ["torch"]
    else:
        runtimes = [pick_runtime(args.runtime)]
    for rt in runtimes:
        if rt == "torch":
            sec = time_torch(net, repeats=args.repeats)
        else:
            with tempfile.TemporaryDirectory() as d:
                sess = onnx_session(export_onnx(net, Path(d) / "sapnet.onnx"), threads=args.threads)
            s_ = net.config.input_size
            x = np.random.default_rng(0).random((1, 3, s_, s_), dtype=np.float32)
            sec = median_seconds(lambda sess=sess, x=x: sess.run(None, {"image": x}), repeats=args.repeats)
        res = {"config": net.config.name, "runtime": rt, "input_size": net.config.input_size,
               "channels": net.config.channels, "stacks": net.config.num_stacks, "threads": args.threads, "batch": 1,
               "dtype": "float32", "ms_per_img": round(sec * 1000, 2), "img_per_s": round(1 / sec, 2),
               "gflop_per_img": round(gflop, 3), "gflop_per_s": round(gflop / sec, 1),
               "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY")}
        if args.json:
            print(json.dumps(res))
        else:
            print(f"SAP-Net {net.config.describe()} on {rt}: {res['img_per_s']:.1f} img/s ({res['ms_per_img']:.1f} "
                  f"ms/img), {res['gflop_per_img']:.2f} GFLOP/img, {res['gflop_per_s']:.1f} GFLOP/s "
                  f"(batch 1, float32, {args.threads} threads)")
    return 0
