"""Run every benchmark (``make bench``): each ``benchmarks/bench_*.py`` module's ``main()``.

``python -m benchmarks NAME`` runs only modules whose name contains NAME.
"""
from __future__ import annotations

import importlib
import pkgutil
import sys
import time

import benchmarks


def run(selected: list[str]) -> int:
    mods = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_"))
    if selected:
        mods = [m for m in mods if any(s in m for s in selected)]
    for name in mods:
        t0 = time.perf_counter()
        print(f"\n=== {name} ===", flush=True)
        importlib.import_module(f"benchmarks.{name}").main()
        print(f"--- {name}: {time.perf_counter() - t0:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
