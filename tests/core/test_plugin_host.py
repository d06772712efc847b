"""Third-party plugins load through the same plugin manager as the built-in ones."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import ananke
from ananke.core import PluginHost, get_host, reset_host

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "ananke-hexcolor"
NODE = {"kind": "hex_color", "alpha": True}


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory):
    """Install the example plugin distribution (a real wheel build) into a directory of its own."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", str(target),
         str(FIXTURE)],
        check=True, capture_output=True, timeout=300,
    )
    return target


@pytest.fixture
def with_plugin(plugin_path, monkeypatch):
    monkeypatch.syspath_prepend(str(plugin_path))
    reset_host()
    yield
    reset_host()


def test_builtin_plugins_are_registered_with_their_kinds():
    plugins = {p.name: p for p in PluginHost().plugins()}
    assert {"json_schema", "grammar", "regex", "token_mask", "composite", "literal"} <= set(plugins)
    assert plugins["composite"].kinds == ("composite",)
    assert plugins["regex"].origin == "builtin"


def test_environment_variable_restricts_plugins(monkeypatch):
    monkeypatch.setenv("ANANKE_PLUGINS", "regex,literal")
    host = PluginHost()
    assert sorted(host.kinds) == ["literal", "regex"]
    with pytest.raises(ananke.UnknownKindError):
        host.parse_node({"kind": "json_schema", "schema": {}})


def test_third_party_kind_through_the_api(with_plugin):
    host = get_host()
    origin = {p.name: p.origin for p in host.plugins()}["hex_color"]
    assert "ananke-hexcolor 1.0.0" in origin
    assert ananke.validate(NODE).valid
    compiled = ananke.compile({"kind": "composite", "op": "sequence", "parts": [
        {"kind": "literal", "text": "color: "}, NODE]})
    assert ananke.matches(compiled, "color: #1e90ffcc")
    assert not ananke.matches(compiled, "color: #1e90f")
    assert compiled.verify("color: #abc").satisfied
    assert not compiled.verify("color: #abcde").satisfied
    with pytest.raises(ananke.ConstraintError) as info:
        ananke.compile({"kind": "hex_color", "alpha": "maybe"})
    assert info.value.diagnostics[0].pointer == "/alpha"


def test_third_party_kind_through_the_cli(plugin_path, ananke_cli, tmp_path):
    env = {"PYTHONPATH": str(plugin_path)}
    listing = ananke_cli("plugins", "--json", env=env)
    assert {"name": "hex_color", "kinds": ["hex_color"]}.items() <= next(
        p for p in json.loads(listing.stdout) if p["name"] == "hex_color").items()
    path = tmp_path / "c.json"
    path.write_text(json.dumps(NODE))
    assert ananke_cli("validate", str(path), env=env).returncode == 0
    assert ananke_cli("match", str(path), "--text", "#FFF", env=env).returncode == 0
    assert ananke_cli("match", str(path), "--text", "FFF", env=env).returncode == 1
    compiled = json.loads(ananke_cli("compile", str(path), env=env).stdout)
    assert compiled["kinds"] == ["hex_color"] and "HEX_" in compiled["grammars"][0]
    # without the plugin on the path the kind is unknown, and says which kinds exist
    missing = ananke_cli("validate", "--json", str(path))
    assert missing.returncode == 1
    assert "hex_color" in json.loads(missing.stdout)["errors"][0]["message"]
