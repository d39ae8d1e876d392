"""Models: re-exports only (each engineer adds a line for their model)."""
from .lifter import Lifter, LifterConfig, load_lifter
from .sapnet import SAPNet, SAPNetConfig
from .temporal_rnn import TemporalRNN
from .tpnet import TPNet, build_model, load_model, pretrained, save_model

__all__ = ["Lifter", "LifterConfig", "SAPNet", "SAPNetConfig", "TPNet", "TemporalRNN", "build_model", "load_lifter", "load_model", "pretrained", "save_model"]
