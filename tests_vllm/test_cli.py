"""`ananke generate --engine vllm` with no model named: the embedded model on vLLM's CPU backend.

Every engine setting that ``ananke config`` shows must reach vLLM on this path: the engine's own
log lines say what it did (KV cache size in tokens, eager mode).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ANANKE = str(Path(sys.executable).with_name("ananke"))


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANANKE_")}
    env.update({"HF_HUB_OFFLINE": "1", "VLLM_LOGGING_LEVEL": "INFO", **extra})
    return env


def test_config_shows_the_vllm_settings_and_their_sources() -> None:
    out = subprocess.run(
        [ANANKE, "config", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=_env(ANANKE_ENFORCE_EAGER="1", ANANKE_KV_CACHE_GIB="0.25"),
    )
    assert out.returncode == 0, out.stderr
    settings = json.loads(out.stdout)["settings"]
    assert settings["vllm.enforce_eager"] == {
        "value": True,
        "source": "env:ANANKE_ENFORCE_EAGER",
        "env": "ANANKE_ENFORCE_EAGER",
    }
    assert settings["vllm.kv_cache_gib"]["value"] == 0.25
    assert settings["vllm.gpu_memory_utilization"]["env"] == "ANANKE_GPU_MEMORY_UTILIZATION"


def test_generate_on_the_vllm_engine_honours_the_environment() -> None:
    out = subprocess.run(
        [
            ANANKE,
            "generate",
            "--engine",
            "vllm",
            "--constraint",
            "examples/person.schema.json",
            "--kind",
            "json_schema",
            "--max-tokens",
            "96",
            "--temperature",
            "0",
            "--json",
            "Describe a fictional software engineer as JSON with name, age and languages.",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env=_env(ANANKE_ENFORCE_EAGER="1", ANANKE_KV_CACHE_GIB="0.25", ANANKE_MAX_MODEL_LEN="2048"),
    )
    assert out.returncode == 0, out.stderr[-3000:]
    body = json.loads(out.stdout)
    assert body["metadata"]["engine"] == "vllm" and body["model_name"] == "SmolLM2-135M-Instruct"
    assert body["constraint_satisfied"] and body["finish_reason"] == "stop"
    log = out.stderr
    assert "Enforce eager set" in log  # ANANKE_ENFORCE_EAGER reached vLLM: no torch.compile
    # 0.25 GiB of KV cache: SmolLM2-135M takes 23 040 bytes a token (30 layers x 2 x 3 heads x 64 x bf16)
    assert "CPU KV cache size: 11,648 tokens" in log, [line for line in log.splitlines() if "KV cache" in line]
