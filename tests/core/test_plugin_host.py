"""Third-party plugins load through the same plugin manager as the built-in ones."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Literal

import pytest
from pydantic import create_model

import ananke
from ananke import Fragment, KindInfo, Lowered, NodeModel, hookimpl, matches
from ananke.core import PluginHost, compile_constraint, get_host, reset_host
from ananke.core._lark_text import escape_lark_string

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "ananke-hexcolor"
NODE = {"kind": "hex_color", "alpha": True}


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory):
    """Install the example plugin distribution (a real wheel build) into a directory of its own."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(FIXTURE),
        ],
        check=True,
        capture_output=True,
        timeout=300,
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
    assert plugins["regex"].origin.startswith("builtin")


class _Plugin:
    """A plugin object providing ``kind`` (a literal-like node) that records the nodes it is given."""

    def __init__(self, kind: str, *, override: bool = False):
        self.kind, self.override, self.seen = kind, override, []
        self.model = create_model(f"{kind}_node", __base__=NodeModel, kind=(Literal[kind], kind), text=(str, ...))

    @hookimpl
    def ananke_constraint_kinds(self):
        return [KindInfo(name=self.kind, model=self.model, override=self.override)]

    @hookimpl
    def ananke_lower_node(self, node, ctx):  # no type check: the host dispatches by kind
        self.seen.append(node.kind)
        return Lowered([Fragment(escape_lark_string(node.text.upper()), regex=None)])

    @hookimpl
    def ananke_verify_node(self, node, text):  # a subset of the hook's arguments is enough
        self.seen.append(node.kind)
        return [] if text == node.text.upper() else ["not shouted"]


@pytest.fixture
def host():
    """The process-wide host (``CompiledConstraint.verify`` uses it), fresh for each test."""
    reset_host()
    yield get_host()
    reset_host()


def test_hooks_are_dispatched_to_the_plugin_that_owns_the_kind(host):
    shout = _Plugin("shout")
    host.register(shout, name="shout")
    ir = {
        "kind": "composite",
        "op": "sequence",
        "parts": [{"kind": "literal", "text": "say "}, {"kind": "shout", "text": "hi"}],
    }
    compiled = compile_constraint(ir, host=host)
    assert matches(compiled, "say HI") and not matches(compiled, "say hi")
    assert compiled.verify("say HI").satisfied
    assert set(shout.seen) == {"shout"}  # never the composite or the literal node


def test_a_second_provider_of_a_kind_is_an_error_unless_it_overrides(host):
    with pytest.raises(ananke.RegistryError, match="'literal' is provided by more than one plugin"):
        host.register(_Plugin("literal"), name="my_literal")
    assert "my_literal" not in {p.name for p in host.plugins()}  # the refused plugin is not kept
    loud = _Plugin("literal", override=True)
    host.register(loud, name="loud_literal")
    assert {p.name: p.kinds for p in host.plugins()}["loud_literal"] == ("literal",)
    assert matches(compile_constraint({"kind": "literal", "text": "ok"}, host=host), "OK")
    with pytest.raises(ananke.RegistryError, match="more than one"):
        host.register(_Plugin("literal", override=True), name="louder_literal")


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
    compiled = ananke.compile(
        {"kind": "composite", "op": "sequence", "parts": [{"kind": "literal", "text": "color: "}, NODE]}
    )
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
        p for p in json.loads(listing.stdout) if p["name"] == "hex_color"
    ).items()
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
