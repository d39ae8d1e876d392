"""A flat YAML training config read into its dataclass: every value is checked against the type of the field's
default before any data is loaded, so a typo is one line and exit 2, not a traceback minutes into a run."""
import subprocess
import sys
from dataclasses import dataclass

import pytest

from structpose.errors import StructposeError
from structpose.train.checks import dataclass_from_yaml


@dataclass
class _Cfg:
    steps: int = 10
    lr: float = 1.0e-3
    world: bool = True
    renders: str = "renders/x"


def test_values_of_the_right_type_reach_the_dataclass(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("steps: 7\nlr: 2        # an integer is a number\nworld: false\nrenders: elsewhere\n")
    assert dataclass_from_yaml(p, _Cfg) == _Cfg(steps=7, lr=2, world=False, renders="elsewhere")
    p.write_text("")
    assert dataclass_from_yaml(p, _Cfg) == _Cfg()                    # empty file: the defaults


@pytest.mark.parametrize("text, key", [
    ("steps: ten\n", "steps"), ("steps: 2.5\n", "steps"), ("steps: true\n", "steps"),
    ("lr: .nan\n", "lr"), ("lr: 1e-3\n", "lr"),          # YAML 1.1 reads 1e-3 (no dot) as a string
    ("world: 1\n", "world"), ("renders: 3\n", "renders"), ("bogus: 1\n", "bogus"), ("- a list\n", "not a mapping"),
])
def test_a_wrong_value_names_its_key(tmp_path, text, key):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    with pytest.raises(StructposeError, match=key):
        dataclass_from_yaml(p, _Cfg)


@pytest.mark.parametrize("command", [["train", "lifter-world"], ["train", "lifter-motion"]])
def test_training_commands_refuse_a_wrong_type_in_one_line(tmp_path, command):
    (tmp_path / "bad.yaml").write_text("steps: ten\n")
    r = subprocess.run([sys.executable, "-m", "structpose", *command, "--config", "bad.yaml",
                        "--out", "w.pt"], capture_output=True, text=True, cwd=tmp_path, check=False)
    assert r.returncode == 2 and "steps" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "w.pt").exists()
