"""Command groups shared by several modules (``train``, ``analyze``, ``data``, ``export``, ``bench``).

``group(sub, "train")`` returns the nested subparsers of ``structpose train``, creating the group
the first time; each module then adds its own subcommand, e.g. ``structpose train tpnet``.
"""
from __future__ import annotations

import argparse

_HELP = {
    "train": "train a model from a config file (tpnet, lifter, sapnet)",
    "analyze": "the paper's analyses (sensitivity, loss-surface, ablation, sapnet-eval, sapnet-figures)",
    "data": "real mocap sources and dataset formats (sources, convert, show, pairs)",
    "export": "export a model (onnx) or a pose file as an animation (anim: bvh, glb)",
    "bench": "time a model's inference path",
}


def group(sub: argparse._SubParsersAction, name: str) -> argparse._SubParsersAction:
    cache = sub.__dict__.setdefault("_structpose_groups", {})
    if name not in cache:
        p = sub.add_parser(name, help=_HELP.get(name, name), description=_HELP.get(name, name))
        cache[name] = p.add_subparsers(dest=f"{name}_command", metavar="SUBCOMMAND")
        p.set_defaults(func=lambda args, p=p: (p.print_help(), 2)[1])
    return cache[name]
