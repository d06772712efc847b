"""One settings model: service, vLLM and Modal settings, each with its source, shown by ``ananke config``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from pydantic import BaseModel

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


@pytest.mark.parametrize(
    "env,words",
    [
        (
            {"ANANKE_MAX_NUM_SEQS": "abc"},
            "vllm.max_num_seqs ($ANANKE_MAX_NUM_SEQS): must be an integer >= 1 or null; got 'abc'",
        ),
        (
            {"ANANKE_KV_CACHE_GIB": "-1"},
            "vllm.kv_cache_gib ($ANANKE_KV_CACHE_GIB): must be a number > 0.0 or null; got '-1'",
        ),
        (
            {"ANANKE_ENFORCE_EAGER": "maybe"},
            "vllm.enforce_eager ($ANANKE_ENFORCE_EAGER): must be a boolean (true/false, 1/0, yes/no, on/off)",
        ),
        ({"ANANKE_PORT": "70000"}, "server.port ($ANANKE_PORT): must be an integer >= 0 and <= 65535; got '70000'"),
    ],
)
def test_a_bad_environment_variable_names_itself_and_what_it_accepts(env, words):
    out = run_cli("config", env=env)
    assert out.returncode == 2 and words in out.stderr, out.stderr
    assert out.stdout == ""


def test_bad_values_in_the_config_file_name_the_key_the_file_and_what_it_accepts(tmp_path):
    path = tmp_path / "ananke.yaml"
    path.write_text("vllm:\n  kv_cache_gib: -2\n  max_num_seqs: 0\n")
    out = run_cli("config", "--config", str(path))
    assert out.returncode == 2
    assert f"vllm.kv_cache_gib (file {path}): must be a number > 0.0 or null; got -2" in out.stderr
    assert f"vllm.max_num_seqs (file {path}): must be an integer >= 1 or null; got 0" in out.stderr
    path.write_text("vllm:\n  max_num_seq: 4\n")
    out = run_cli("config", "--config", str(path))
    assert out.returncode == 2
    assert f"config file {path}: unknown setting(s) vllm.max_num_seq; known: " in out.stderr
    assert "vllm.max_num_seqs" in out.stderr.split("known: ")[1]
    out = run_cli("config", "--config", str(path), env={"ANANKE_MAX_NUM_SEQS": "4"})
    assert out.returncode == 2 and "vllm.max_num_seq;" in out.stderr  # a good environment does not hide it


def test_each_layer_is_validated_and_blamed_for_its_own_values(tmp_path):
    path = tmp_path / "ananke.yaml"
    path.write_text("limits:\n  max_queue: 9\n")
    cfg = load_config(path, env={"ANANKE_MAX_QUEUE": "3"})
    assert cfg["limits.max_queue"] == 3 and cfg.sources["limits.max_queue"] == "env:ANANKE_MAX_QUEUE"
    path.write_text("limits:\n  max_queue: lots\n")
    with pytest.raises(ConfigError, match=rf"limits.max_queue \(file {path}\): must be an integer >= 1; got 'lots'"):
        load_config(path, env={"ANANKE_MAX_QUEUE": "3"})  # overridden, still an error
    path.write_text("limits:\n  max_queue: 9\n")
    with pytest.raises(ConfigError, match=r"limits.max_queue \(\$ANANKE_MAX_QUEUE\): must be an integer >= 1; got '0'"):
        load_config(path, env={"ANANKE_MAX_QUEUE": "0"})
    with pytest.raises(ConfigError, match=r"limits.max_queue \(cli\): must be an integer >= 1; got -1"):
        load_config(path, env={}, overrides={"limits.max_queue": -1})
    with pytest.raises(ConfigError, match=r"generation.top_k \(cli\)"):
        load_config(env={}).with_overrides({"generation.top_k": "many"})
    with pytest.raises(ConfigError, match=r"unknown setting 'limits.max_queues'"):
        load_config(env={}, overrides={"limits.max_queues": 1})


def test_the_settings_are_a_pydantic_settings_model_with_the_layers_as_its_sources(tmp_path, monkeypatch):
    from pydantic_settings import BaseSettings

    from ananke._config import Settings
    from ananke._settings import AnankeSettings

    assert issubclass(AnankeSettings, BaseSettings) and issubclass(AnankeSettings, Settings)
    model_names = {
        ".".join(filter(None, (top, key))) for top, info in Settings.model_fields.items() for key in _keys(info)
    }
    assert sorted(f.name for f in FIELDS) == sorted(model_names)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ananke.yaml").write_text("modal:\n  gpu: L40S\nvllm:\n  max_num_seqs: 8\n")
    for name in [k for k in os.environ if k.startswith("ANANKE_") or k == "MODAL_MODE"]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("ANANKE_MAX_NUM_SEQS", "12")
    settings = AnankeSettings(generation={"top_k": 3})  # keyword arguments: the CLI layer
    assert (settings.modal.gpu, settings.vllm.max_num_seqs, settings.generation.top_k) == ("L40S", 12, 3)
    assert settings.modal.mode == "dev" and settings.logging.json_ is True
    assert load_config(overrides={"generation.top_k": 3}).settings == settings
    assert load_config(overrides={"generation.top_k": 3}).sources["generation.top_k"] == "cli"


def _keys(info):
    annotation = info.annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [field.alias or key for key, field in annotation.model_fields.items()]
    return [""]
