"""``ananke generate`` (local and --url), ``ananke serve`` and ``ananke config``: real processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import jsonschema
import pytest

from ananke._config import ConfigError, load_config

KEY = "ananke-test-key"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def live():
    from ananke.server._live import shared_embedded_server

    return shared_embedded_server(api_key=KEY)


@pytest.fixture
def run(ananke_cli):
    def call(*args, env=None):
        return ananke_cli(*args, env={"ANANKE_API_KEY": KEY, **(env or {})})

    return call


# -- generate --------------------------------------------------------------------------------------


@pytest.mark.model
def test_generate_seed_spelling_against_server(run, live, tmp_path):
    cir = tmp_path / "compiled.cir"
    cir.write_text(json.dumps({"regex_patterns": ["(yes|no)"]}))
    out = run(
        "generate", "Yes or no?", "--constraints", str(cir), "--inference-url", live.url, "--json", "--max-tokens", "4"
    )
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert body["generated_text"] in ("yes", "no") and body["constraint_satisfied"] is True


@pytest.mark.model
def test_generate_text_output_kind_lark(run, live, tmp_path):
    grammar = tmp_path / "answer.txt"  # recognized by content / --kind, not by extension
    grammar.write_text('start: "alpha" | "beta"\n')
    out = run(
        "generate",
        "Pick one.",
        "--constraint",
        str(grammar),
        "--kind",
        "lark",
        "--url",
        live.url,
        "--max-tokens",
        "4",
        "--seed",
        "1",
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() in ("alpha", "beta") and "verified" in out.stderr


@pytest.mark.model
def test_make_run_command_local(run):
    """The lead's `make run`: local embedded model, JSON schema from examples/, verified result."""
    schema_path = os.path.join(ROOT, "examples", "person.schema.json")
    out = run(
        "generate",
        "--constraint",
        schema_path,
        "--kind",
        "json_schema",
        "--max-tokens",
        "96",
        "--seed",
        "7",
        "--json",
        "Describe a fictional software engineer as JSON with name, age and languages.",
    )
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert body["metadata"]["constraint_kinds"] == ["json_schema"]
    if body["finish_reason"] == "stop":
        with open(schema_path) as f:
            jsonschema.validate(json.loads(body["generated_text"]), json.load(f))
        assert body["constraint_satisfied"] is True
    else:
        assert body["constraint_satisfied"] is False


def test_generate_bad_constraint_exits_1_before_loading(run, tmp_path):
    bad = tmp_path / "bad.lark"
    bad.write_text('start: "a" @@ "b"\n')
    started = time.monotonic()
    out = run("generate", "x", "--constraint", str(bad))
    assert out.returncode == 1
    assert "line 1, column" in out.stderr and "invalid constraint" in out.stderr
    assert "loading" not in out.stderr and time.monotonic() - started < 30


@pytest.mark.parametrize(
    "args,words",
    [
        (["generate"], "PROMPT"),
        (["generate", "x", "--constraint", "/nonexistent/file.json"], "cannot read"),
        (["generate", "x", "--kind", "regex"], "--kind needs --constraint"),
        (["generate", "x", "--max-tokens", "many"], "invalid int value"),
    ],
)
def test_generate_usage_errors_exit_2(run, args, words):
    out = run(*args)
    assert out.returncode == 2 and words in out.stderr


@pytest.mark.model
def test_generate_request_out_of_bounds_exits_2(run, live):
    out = run("generate", "x", "--temperature", "9", "--url", live.url)
    assert out.returncode == 2 and "temperature" in out.stderr


def test_generate_unreachable_server_exits_1(run):
    out = run("generate", "x", "--url", "http://127.0.0.1:9", "--timeout", "2")
    assert out.returncode == 1 and "cannot reach" in out.stderr


# -- serve -----------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.model
def test_serve_starts_answers_and_stops_on_sigterm(tmp_path):
    port = _free_port()
    cfg = tmp_path / "ananke.yaml"
    cfg.write_text("generation:\n  max_tokens: 3\nlogging:\n  json: true\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ananke", "serve", "--port", str(port), "--config", str(cfg)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "ANANKE_API_KEY"},
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.2)
        r = httpx.post(url + "/generate_api", json={"prompt": "hi"}, headers={"X-Request-ID": "serve-1"}, timeout=60)
        assert r.status_code == 200 and r.json()["tokens_generated"] <= 3  # default from the YAML file
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode in (0, -signal.SIGTERM), err  # uvicorn re-raises the signal after a clean shutdown
    assert "Application shutdown complete" in err
    logs = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    access = [entry for entry in logs if entry.get("path") == "/generate_api"]
    assert access and access[0]["request_id"] == "serve-1" and access[0]["status"] == 200


# -- config ----------------------------------------------------------------------------------------


def test_config_precedence(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model: from-file\ngeneration:\n  max_tokens: 100\n  temperature: 0.2\nlimits:\n  max_queue: 7\n")
    env = {"ANANKE_MAX_TOKENS": "200", "ANANKE_LOG_JSON": "false"}
    cfg = load_config(path, env=env, overrides={"generation.temperature": 0.5})
    assert cfg["model"] == "from-file" and cfg.sources["model"] == f"file:{path}"
    assert cfg["generation.max_tokens"] == 200 and cfg.sources["generation.max_tokens"] == "env:ANANKE_MAX_TOKENS"
    assert cfg["generation.temperature"] == 0.5 and cfg.sources["generation.temperature"] == "cli"
    assert cfg["limits.max_queue"] == 7 and cfg["logging.json"] is False
    assert cfg["generation.top_k"] == 50 and cfg.sources["generation.top_k"] == "default"


@pytest.mark.parametrize(
    "text,words",
    [
        ("generation: [1, 2\n", "not valid YAML"),
        ("generation:\n  max_tokenz: 3\n", "unknown setting"),
        ("limits:\n  max_queue: lots\n", "limits.max_queue"),
        ("- a list\n", "mapping"),
    ],
)
def test_config_file_errors(tmp_path, text, words):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert words in str(info.value)


def test_config_command_shows_sources(run, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("engine: vllm\nauth:\n  api_key: secret-in-file\n")
    out = run("config", "--config", str(path), env={"ANANKE_PORT": "9001"})
    assert out.returncode == 0, out.stderr
    lines = {line.split("=")[0].strip(): line for line in out.stdout.splitlines() if "=" in line}
    assert "vllm" in lines["engine"] and f"file:{path}" in lines["engine"]
    assert "9001" in lines["server.port"] and "env:ANANKE_PORT" in lines["server.port"]
    assert "(default)" in lines["generation.top_p"]
    assert "secret" not in out.stdout and "***" in lines["auth.api_key"]  # env ANANKE_API_KEY wins, masked
    data = json.loads(run("config", "--json", env={"ANANKE_MAX_QUEUE": "3"}).stdout)
    assert data["settings"]["limits.max_queue"] == {
        "value": 3,
        "source": "env:ANANKE_MAX_QUEUE",
        "env": "ANANKE_MAX_QUEUE",
    }
    bad = run("config", "--config", str(tmp_path / "missing.yaml"))
    assert bad.returncode == 2 and "does not exist" in bad.stderr
