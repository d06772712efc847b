"""One settings model: service, vLLM and Modal settings, each with its source, shown by ``ananke config``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ananke._config import FIELDS, ConfigError, env_setting, load_config
from ananke.errors import AnankeError, UsageError


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ANANKE_") and k != "MODAL_MODE"}
    return subprocess.run(
        [sys.executable, "-m", "ananke", *args],
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        timeout=120,
    )


def test_every_environment_variable_is_one_setting():
    envs = [f.env for f in FIELDS]
    assert len(envs) == len(set(envs))
    for name in (
        "MODAL_MODE",
        "ANANKE_GPU",
        "ANANKE_GPU_COUNT",
        "ANANKE_MAX_CONCURRENT",
        "ANANKE_MIN_CONTAINERS",
        "ANANKE_MAX_CONTAINERS",
        "ANANKE_MAX_NUM_SEQS",
        "ANANKE_ENFORCE_EAGER",
        "ANANKE_MODEL",
        "ANANKE_MAX_MODEL_LEN",
        "ANANKE_PLUGINS",
        "ANANKE_CACHE_DIR",
        "ANANKE_KV_CACHE_GIB",
    ):
        assert name in envs


def test_config_shows_modal_and_vllm_settings_with_their_sources(tmp_path):
    path = tmp_path / "ananke.yaml"
    path.write_text("modal:\n  gpu: H100\n  max_containers: 3\nvllm:\n  max_num_seqs: 16\n")
    out = run_cli("config", "--config", str(path), env={"MODAL_MODE": "prod", "ANANKE_PLUGINS": "regex"})
    assert out.returncode == 0, out.stderr
    lines = {line.split("=")[0].strip(): line for line in out.stdout.splitlines() if "=" in line}
    assert "H100" in lines["modal.gpu"] and f"(file:{path})" in lines["modal.gpu"]
    assert "prod" in lines["modal.mode"] and "(env:MODAL_MODE)" in lines["modal.mode"]
    assert "16" in lines["vllm.max_num_seqs"] and "regex" in lines["plugins"]
    assert "(default)" in lines["modal.max_concurrent"]
    data = json.loads(run_cli("config", "--json", env={"ANANKE_GPU_COUNT": "4"}).stdout)
    assert data["settings"]["modal.gpu_count"] == {
        "value": 4,
        "source": "env:ANANKE_GPU_COUNT",
        "env": "ANANKE_GPU_COUNT",
    }


def test_bad_modal_mode_is_a_config_error_and_a_usage_error():
    with pytest.raises(ConfigError, match=r"modal.mode \(\$MODAL_MODE\): must be one of dev, demo, prod"):
        load_config(env={"MODAL_MODE": "staging"})
    assert load_config(env={"MODAL_MODE": " Prod "})["modal.mode"] == "prod"
    assert issubclass(ConfigError, UsageError) and issubclass(ConfigError, AnankeError)
    assert issubclass(ConfigError, ValueError)
    out = run_cli("config", env={"MODAL_MODE": "staging"})
    assert out.returncode == 2 and "MODAL_MODE" in out.stderr


def test_environment_only_settings(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("plugins: regex\n")
    with pytest.raises(ConfigError, match=r"plugins can only be set in the environment \(ANANKE_PLUGINS\)"):
        load_config(path, env={})
    assert env_setting("plugins", {"ANANKE_PLUGINS": "regex,literal"}) == "regex,literal"
    assert env_setting("cache.dir", {}) is None
    assert env_setting("cache.dir", {"ANANKE_CACHE_DIR": ""}) is None


def test_every_ananke_variable_the_package_names_is_a_setting_of_the_one_model() -> None:
    """No module reads an ``ANANKE_*`` variable the settings model (and so ``ananke config``) lacks."""
    import re
    from pathlib import Path

    import ananke
    from ananke._config import FIELDS

    known = {f.env for f in FIELDS} | {"ANANKE_CONFIG"}  # ANANKE_CONFIG names the file itself
    package = Path(ananke.__file__).parent
    named = {m for path in package.rglob("*.py") for m in re.findall(r"\bANANKE_[A-Z_]+\b", path.read_text())}
    assert named - known == set()
    readers = [p.name for p in package.rglob("*.py") if "os.environ.get(" in p.read_text() and p.name != "_config.py"]
    assert readers == []
