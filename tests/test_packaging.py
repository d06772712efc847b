"""The wheel as users get it: built from the source tree, installed into a clean venv from PyPI.

Slow (a venv and about twenty dependencies from PyPI, ~20 s with a warm pip cache) and needs the
network; marked ``packaging`` (``pytest -m "not packaging"`` skips it). It runs in ``make test``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parents[1]
GRAMMARS = sorted(p.name for p in (ROOT / "ananke" / "grammars").glob("*.lark"))


def _source_copy(target: Path) -> Path:
    """The files git would ship (tracked and untracked-not-ignored), so no build/ lands in the checkout."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "ananke", "pyproject.toml", "README.md"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in listed:
        dest = target / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes((ROOT / name).read_bytes())
    return target


def _run(*cmd: str | Path, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}  # nothing of the checkout
    out = subprocess.run(
        [str(c) for c in cmd], check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]
    return out.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    src = _source_copy(tmp / "src")
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", tmp / "dist", src, cwd=tmp)
    [built] = (tmp / "dist").glob("ananke-*.whl")
    return built


def test_wheel_carries_grammars_typing_marker_and_spdx_license(wheel: Path) -> None:
    assert GRAMMARS, "no .lark grammars in the source tree"
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        [metadata] = [n for n in names if n.endswith(".dist-info/METADATA")]
        meta = zf.read(metadata).decode()
    assert {f"ananke/grammars/{g}" for g in GRAMMARS} <= names
    assert "ananke/py.typed" in names
    assert "License-Expression: MIT" in meta.splitlines()


def test_installed_wheel_validates_a_constraint_in_a_clean_venv(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    _run(venv / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel, cwd=tmp_path)
    where = _run(venv / "bin" / "python", "-c", "import ananke; print(ananke.__file__)", cwd=tmp_path)
    assert str(venv) in where  # the installed copy, not the checkout
    constraint = tmp_path / "function.json"
    constraint.write_text(json.dumps({"kind": "grammar", "builtin": "python", "start": "function_def"}))
    report = json.loads(_run(venv / "bin" / "ananke", "validate", "--json", constraint, cwd=tmp_path))
    assert report["valid"] is True, report
