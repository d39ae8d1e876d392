"""Models: re-exports only (each engineer adds a line for their model)."""
from .temporal_rnn import TemporalRNN
from .tpnet import TPNet, build_model, load_model, pretrained, save_model

__all__ = ["TPNet", "TemporalRNN", "build_model", "load_model", "pretrained", "save_model"]
