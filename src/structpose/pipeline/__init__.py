"""Streaming and offline pipelines (frame in, pose out)."""
from .refiner import OnlineRefiner, refine_sequence

__all__ = ["OnlineRefiner", "refine_sequence"]
