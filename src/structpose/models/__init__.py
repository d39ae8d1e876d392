"""Models: re-exports only (each engineer adds a line for their model).

Resolved on first access (PEP 562), so importing a torch-free submodule such as
:mod:`structpose.models.npz_infer` does not import torch.
"""
from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "Lifter": "lifter", "LifterConfig": "lifter", "load_lifter": "lifter",
    "SAPNet": "sapnet", "SAPNetConfig": "sapnet",
    "TemporalRNN": "temporal_rnn",
    "TPNet": "tpnet", "build_model": "tpnet", "load_model": "tpnet", "pretrained": "tpnet", "save_model": "tpnet",
}

__all__ = ["Lifter", "LifterConfig", "SAPNet", "SAPNetConfig", "TPNet", "TemporalRNN", "build_model", "load_lifter", "load_model", "pretrained", "save_model"]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
