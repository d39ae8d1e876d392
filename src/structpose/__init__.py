"""structpose: 3D human pose from structure and motion (Dabral et al., ECCV 2018)."""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("structpose")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+src"

from .errors import StructposeError

__all__ = ["StructposeError", "__version__"]
