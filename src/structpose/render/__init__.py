"""Renderer of real mocap into person crops — a STAND-IN for Human3.6M / MPII / MPI-INF-3DHP images.

No real image dataset can be downloaded here, so SAP-Net trains on shaded capsule bodies driven by real
motion (DeepMimic, holosoma climbing) with exact 2D/3D labels.  Numbers measured on these renders say
how the method behaves, not how it would score on Human3.6M.
"""
from .capsules import CAPSULES, Appearance, render_body
from .scene import RenderedSample, render_dataset, render_sample

__all__ = ["CAPSULES", "Appearance", "RenderedSample", "render_body", "render_dataset", "render_sample"]
