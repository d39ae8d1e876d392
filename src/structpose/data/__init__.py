"""Real human motion and the field's dataset formats, all landing in H36M-17."""
from .clip import Clip

__all__ = ["Clip"]
