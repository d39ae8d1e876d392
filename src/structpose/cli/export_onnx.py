"""``structpose export onnx --model sapnet --out FILE [--weights PT | --config paper|realtime --untrained]``."""
from __future__ import annotations

import argparse

from ._groups import group


def register(sub: argparse._SubParsersAction) -> None:
    p = group(sub, "export").add_parser(
        "onnx", help="export a model to ONNX (onnxruntime-ready)",
        description="Export SAP-Net's inference graph (input 'image' (B,3,S,S) float32 RGB in [0,1]; outputs "
                    "'heatmaps' (B,17,S/4,S/4) and 'depth' (B,17)). Default: the shipped real-time weights.")
    p.add_argument("--model", required=True, choices=["sapnet"], help="which model")
    p.add_argument("--out", required=True, help="output .onnx file (written atomically)")
    p.add_argument("--weights", help="a SAP-Net weights file or training checkpoint (default: shipped weights)")
    p.add_argument("--config", choices=["paper", "realtime"], help="with --untrained: architecture to export")
    p.add_argument("--untrained", action="store_true", help="export randomly initialised weights (for timing)")
    p.add_argument("--opset", type=int, default=17)
    p.add_argument("--check", action="store_true", help="run onnxruntime once and compare with torch")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from ..errors import StructposeError
    from ..io.guards import refuse_overwrite
    from ..models.sapnet import InferenceHead, SAPNet, load_pretrained, load_weights
    from ..models.sapnet_export import export_onnx, onnx_session
    refuse_overwrite({"--out": args.out}, {"--weights": args.weights})
    if args.untrained:
        if not args.config or args.weights:
            raise StructposeError("--untrained needs --config paper|realtime and no --weights")
        torch.manual_seed(0)
        net = SAPNet(args.config).eval()
    elif args.weights:
        net, _, _ = load_weights(args.weights, expect=args.config)
    else:
        net, _, _ = load_pretrained()
    if not str(args.out).endswith(".onnx"):
        raise StructposeError(f"--out {args.out}: give a file name ending in .onnx")
    try:
        path = export_onnx(net, args.out, args.opset)
    except (RuntimeError, torch.onnx.errors.OnnxExporterError) as e:
        # the exporter rejects opsets it lacks (e.g. < 9: no Resize for the hourglass's upsampling)
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise StructposeError(f"--opset {args.opset}: the ONNX exporter cannot use it ({first[:120]}); "
                              "opsets 9-23 work with this torch, 17 is the default") from None
    print(f"wrote {path} (SAP-Net {net.config.describe()})")
    if args.check:
        s = net.config.input_size
        x = np.random.default_rng(0).random((1, 3, s, s), dtype=np.float32)
        hm, z = onnx_session(path).run(None, {"image": x})
        with torch.no_grad():
            hm_t, z_t = InferenceHead(net)(torch.from_numpy(x))
        print(f"onnxruntime vs torch: max |d heatmap| {np.abs(hm - hm_t.numpy()).max():.2e}, "
              f"max |d depth| {np.abs(z - z_t.numpy()).max():.2e}")
    return 0
