"""The layer contract of pyproject.toml (import-linter): the tree keeps it, and it fails on an upward
import or an import cycle added to a copy of the tree."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(src: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run([str(LINT), str(ROOT / "pyproject.toml")], capture_output=True, text=True, env=env,
                          cwd=src, timeout=120, check=False)


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """A copy of the package to break on purpose (the real tree is never touched)."""
    d = tmp_path_factory.mktemp("src")
    shutil.copytree(ROOT / "src" / "structpose", d / "structpose",
                    ignore=shutil.ignore_patterns("__pycache__", "weights", "assets"))
    return d


def test_the_tree_keeps_its_layers():
    r = _lint(ROOT / "src")
    assert r.returncode == 0, r.stdout[-2000:]
    assert "2 kept, 0 broken" in r.stdout


@pytest.mark.parametrize("module, line, broken", [
    ("geometry.py", "from .pipeline import refiner  # an upward import", "layers"),
    ("models/windows.py", "from . import tpnet  # a cycle: tpnet imports windows", "cycle"),
])
def test_an_upward_import_or_a_cycle_breaks_the_build(tree, module, line, broken):
    path = tree / "structpose" / module
    original = path.read_text()
    try:
        path.write_text(original + "\n" + line + "\n")
        r = _lint(tree)
    finally:
        path.write_text(original)
    assert r.returncode != 0
    if broken == "layers":
        assert "at the bottom BROKEN" in r.stdout
        assert "structpose.geometry is not allowed to import structpose.pipeline" in r.stdout
    else:
        assert "at the bottom KEPT" in r.stdout            # no layer crossed: only the cycle contract fails
        assert "no import cycle among the modules of any package BROKEN" in r.stdout
        assert "- .windows -> .tpnet" in r.stdout


def test_the_readme_map_names_every_module():
    """README's "How the tree tells the paper" block has a line for every module of the package."""
    import re
    text = (ROOT / "README.md").read_text()
    block = text.split("## How the tree tells the paper", 1)[1].split("```")[1]
    lines = block.splitlines()
    missing = []
    for path in sorted((ROOT / "src" / "structpose").rglob("*.py")):
        rel = path.relative_to(ROOT / "src" / "structpose").with_suffix("")
        if rel.name == "__main__" or rel.parts[0] == "assets" or (rel.name == "__init__" and rel.parent.name != "formats"):
            continue
        pkg, name = "/".join(rel.parts[:-1]), rel.name
        pattern = rf"^{re.escape(pkg)}/.*\b{re.escape(name)}\b" if pkg else rf"^{re.escape(name)}\b"
        if not any(re.search(pattern, ln) for ln in lines):
            missing.append(str(rel))
    assert not missing, f"modules without a line in the README map: {missing}"
