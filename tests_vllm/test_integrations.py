"""ananke.integrations.vllm against a real vLLM OpenAI server (``api_server`` on CPU) and the real openai client.

The server is started once for this module from this venv, on 127.0.0.1, over the embedded model's
converted folder (weights + tokenizer), with the guidance structured-output backend, and stopped at
the end of the module.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import ananke
from ananke.errors import UnsupportedFeatureError
from ananke.integrations.vllm import grammar_for_server, structured_outputs

ROOT = Path(__file__).resolve().parents[1]
SERVED_NAME = "smollm2"
YEAR = {"kind": "regex", "pattern": "(19|20)[0-9]{2}"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(proc: subprocess.Popen, url: str, timeout: float = 300.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"vLLM server exited with status {proc.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1.0)
    raise TimeoutError("vLLM server did not become healthy")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # its own session: the API server and its engine-core child
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def vllm_server(tmp_path_factory) -> str:
    """The OpenAI base URL of a `vllm` API server on CPU; stopped when the module ends."""
    from ananke.runtime._model import resolve_model

    _, model_path, _ = resolve_model(None)
    port = _free_port()
    log = tmp_path_factory.mktemp("vllm-server") / "server.log"
    cmd = [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        model_path,
        "--served-model-name",
        SERVED_NAME,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--structured-outputs-config",
        '{"backend": "guidance"}',
        "--enforce-eager",
        "--max-model-len",
        "2048",
        "--max-num-seqs",
        "4",
        "--kv-cache-memory-bytes",
        str(512 * 1024**2),
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env={**os.environ, "HF_HUB_OFFLINE": "1"}
        )
    try:
        _wait_healthy(proc, f"http://127.0.0.1:{port}")
        yield f"http://127.0.0.1:{port}/v1"
    except BaseException:
        sys.stderr.write(log.read_text(errors="replace")[-4000:])
        raise
    finally:
        _stop(proc)


def test_refuses_what_one_grammar_cannot_carry() -> None:
    two_grammars = {
        "kind": "composite",
        "op": "all_of",
        "parts": [{"kind": "grammar", "lark": "start: /[a-z0-9]+/"}, {"kind": "regex", "pattern": "[0-9]+"}],
    }
    with_tokens = {
        "kind": "composite",
        "op": "all_of",
        "parts": [YEAR, {"kind": "token_mask", "forbidden_tokens": [3]}],
    }
    for constraint, reason in [(two_grammars, "intersection of 2 grammars"), (with_tokens, "static token set")]:
        with pytest.raises(UnsupportedFeatureError, match=reason):
            structured_outputs(constraint)
    compiled = ananke.compile(YEAR)
    assert structured_outputs(compiled) == {"structured_outputs": {"grammar": compiled.grammars[0]}}


def test_chat_completion_follows_the_constraint(vllm_server: str) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=vllm_server, api_key="EMPTY")
    schema = {
        "type": "object",
        "properties": {"year": {"type": "integer", "minimum": 1900, "maximum": 2100}},
        "required": ["year"],
        "additionalProperties": False,
    }
    constraint = {"kind": "json_schema", "schema": schema}
    reply = client.chat.completions.create(
        model=SERVED_NAME,
        max_tokens=48,
        temperature=0.0,
        extra_body=structured_outputs(constraint),
        messages=[{"role": "user", "content": "In which year did the Berlin wall fall? Answer in JSON."}],
    )
    text = reply.choices[0].message.content
    assert ananke.compile(constraint).verify(text).satisfied, text
    assert 1900 <= json.loads(text)["year"] <= 2100
    assert reply.choices[0].finish_reason == "stop"


def test_completion_with_a_regex(vllm_server: str) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=vllm_server, api_key="EMPTY")
    reply = client.completions.create(
        model=SERVED_NAME,
        prompt="The Berlin wall fell in the year",
        max_tokens=8,
        temperature=0.0,
        extra_body={"structured_outputs": {"grammar": grammar_for_server(YEAR)}},
    )
    assert ananke.matches(YEAR, reply.choices[0].text), reply.choices[0].text


def test_example_script(vllm_server: str) -> None:
    package_root = Path(ananke.__file__).resolve().parents[1]  # the ananke under test, not an installed copy
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "vllm_server_structured_outputs.py"), vllm_server],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(package_root)},
    )
    assert out.returncode == 0, out.stdout + out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["satisfied"] is True and json.loads(result["text"])["age"] >= 18
