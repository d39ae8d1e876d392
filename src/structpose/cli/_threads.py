"""Keep the per-frame stages single-threaded.

On a busy 2-core machine a multi-threaded BLAS call on a 1 x 512 matrix-vector product costs
~25 x more than a single-threaded one (measured: 2.6 ms vs 0.1 ms under load), and torch likewise.
``single_threaded()`` limits torch and NumPy's bundled OpenBLAS to one thread (what threadpoolctl
does, without the dependency); it is called by the streaming commands (never by library code), not on import.
Only a torch already imported is limited: the product's inference path runs without torch.
"""
from __future__ import annotations

import ctypes
import glob
import os
import sys


def single_threaded() -> bool:
    """Limit torch and NumPy's OpenBLAS to one thread; returns whether OpenBLAS was found."""
    import numpy as np
    torch = sys.modules.get("torch")      # the NumPy inference path never imports it; do not load it here
    if torch is not None:
        torch.set_num_threads(1)
    else:                                 # a torch imported later (SAP-Net on torch) starts with one thread
        os.environ.setdefault("OMP_NUM_THREADS", "1")
    libs = glob.glob(os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs", "libopenblas*.so*"))
    for path in libs:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for sym in ("openblas_set_num_threads64_", "openblas_set_num_threads"):
            fn = getattr(lib, sym, None)
            if fn is not None:
                fn(1)
                return True
    return False
