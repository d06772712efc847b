"""Built-in constraint plugins and engines are registered through the entry points a third party uses.

``pyproject.toml`` declares Ananke's own entry points; these tests check that it declares every
built-in, that a distribution's metadata built from it loads every built-in through the entry
point (not the fallback), and that the engine registry resolves names, refuses unknown or doubly
registered ones and imports neither torch nor vLLM to do so.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

import ananke
from ananke._registry import FALLBACK, registrations
from ananke.core import PluginHost
from ananke.core.hookspecs import ENTRY_POINT_GROUP as PLUGIN_GROUP
from ananke.runtime.engines import ENTRY_POINT_GROUP as ENGINE_GROUP
from ananke.runtime.engines import engine_factory, engine_names, engine_registrations

ROOT = Path(__file__).resolve().parents[1]
DECLARED = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["entry-points"]
BUILTIN_PLUGINS = {"json_schema", "grammar", "regex", "token_mask", "composite", "literal"}
BUILTIN_ENGINES = {"transformers", "vllm"}


def write_dist(site: Path, name: str, version: str, groups: dict[str, dict[str, str]]) -> None:
    """The ``.dist-info`` that pip writes for a distribution with these entry points."""
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(
        "".join(
            f"[{group}]\n" + "".join(f"{key} = {value}\n" for key, value in eps.items()) + "\n"
            for group, eps in groups.items()
        )
    )


def test_pyproject_declares_every_builtin_plugin_and_engine():
    assert set(DECLARED[PLUGIN_GROUP]) == BUILTIN_PLUGINS
    assert set(DECLARED[ENGINE_GROUP]) == BUILTIN_ENGINES
    # the fallback for stale metadata mirrors pyproject.toml exactly
    assert DECLARED[PLUGIN_GROUP] == FALLBACK[PLUGIN_GROUP]
    assert DECLARED[ENGINE_GROUP] == FALLBACK[ENGINE_GROUP]


def test_builtins_load_through_the_package_entry_points(tmp_path, monkeypatch):
    write_dist(tmp_path, "ananke", ananke.__version__, DECLARED)
    monkeypatch.syspath_prepend(str(tmp_path))
    plugins = {p.name: p for p in PluginHost().plugins()}
    assert set(plugins) == BUILTIN_PLUGINS
    assert all(p.origin.startswith("builtin (entry point, ananke") for p in plugins.values()), plugins
    assert plugins["composite"].kinds == ("composite",)
    engines = engine_registrations()
    assert set(engines) == BUILTIN_ENGINES
    assert all(r.origin.startswith("builtin (entry point, ananke") for r in engines.values())


def test_a_builtin_missing_from_the_metadata_shows_as_fallback(tmp_path, monkeypatch):
    declared = {group: dict(eps) for group, eps in DECLARED.items()}
    del declared[PLUGIN_GROUP]["regex"]
    write_dist(tmp_path, "ananke", ananke.__version__, declared)
    monkeypatch.syspath_prepend(str(tmp_path))
    origins = {p.name: p.origin for p in PluginHost().plugins()}
    assert origins["regex"].startswith("builtin (fallback")
    assert origins["literal"].startswith("builtin (entry point")


def test_installed_metadata_registers_the_builtins():
    """In CI (``pip install -e .`` from this pyproject) no built-in needs the fallback."""
    dist = metadata.distribution("ananke")
    if not any(ep.group == PLUGIN_GROUP for ep in dist.entry_points):
        pytest.skip("the installed ananke metadata predates its entry points: reinstall with `pip install -e .`")
    for group in (PLUGIN_GROUP, ENGINE_GROUP):
        regs = registrations(group)
        assert set(FALLBACK[group]) <= set(regs)
        assert not [r.name for r in regs.values() if "fallback" in r.origin], group


def test_a_third_party_engine_registers_like_the_builtins(tmp_path, monkeypatch):
    (tmp_path / "echo_engine.py").write_text("def create_engine(config, cache):\n    return ('echo', config, cache)\n")
    write_dist(tmp_path, "ananke-echo", "0.1", {ENGINE_GROUP: {"echo": "echo_engine:create_engine"}})
    monkeypatch.syspath_prepend(str(tmp_path))
    assert engine_names()[:2] == ("transformers", "vllm") and "echo" in engine_names()
    assert engine_registrations()["echo"].origin == "entry point (ananke-echo 0.1)"
    assert engine_factory("echo")({"model": None}, "cache") == ("echo", {"model": None}, "cache")


def test_unknown_and_doubly_registered_engines_are_errors(tmp_path, monkeypatch):
    with pytest.raises(ananke.RegistryError, match="unknown engine 'nope'; registered engines: transformers, vllm"):
        engine_factory("nope")
    write_dist(tmp_path, "ananke-fork", "0.1", {ENGINE_GROUP: {"vllm": "fork:create_engine"}})
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ananke.RegistryError, match="'vllm' is registered twice"):
        engine_names()


def test_engine_import_paths_do_not_import_torch_or_vllm():
    code = (
        "import sys; from ananke.runtime.engines.transformers import create_engine; "
        "from ananke.runtime.engines.vllm import VllmEngine, VllmSettings; "
        "from ananke.runtime.engines import engine_factory; engine_factory('vllm'); "
        "engine_factory('transformers'); "
        "print(sorted(m for m in ('torch', 'transformers', 'vllm') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_a_plugin_that_redeclares_a_builtin_kind_is_a_usage_error(tmp_path):
    (tmp_path / "my_regex.py").write_text(
        "from typing import Literal\n"
        "from ananke import KindInfo, NodeModel, hookimpl\n"
        "class Node(NodeModel):\n    kind: Literal['regex'] = 'regex'\n    pattern: str\n"
        "@hookimpl\ndef ananke_constraint_kinds():\n    return [KindInfo(name='regex', model=Node)]\n"
    )
    write_dist(tmp_path, "my-regex", "0.1", {PLUGIN_GROUP: {"my_regex": "my_regex"}})
    path = tmp_path / "c.json"
    path.write_text('{"kind": "literal", "text": "x"}')
    out = subprocess.run(
        [sys.executable, "-m", "ananke", "validate", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        timeout=120,
    )
    assert out.returncode == 2
    assert "constraint kind 'regex' is provided by more than one plugin" in out.stderr
    assert "my_regex" in out.stderr and "my-regex 0.1" in out.stderr
