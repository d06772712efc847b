"""Model location, cached conversion and loading errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from ananke import EngineError
from ananke.runtime import cache_dir, embedded_gguf_path, load_model
from ananke.runtime._model import converted_model_dir, resolve_model
from ananke.runtime._tokenizer import eos_token_ids


def test_embedded_gguf_ships_with_the_package() -> None:
    path = embedded_gguf_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 50_000_000


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("ANANKE_CACHE_DIR", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c" and cache_dir().is_dir()
    assert converted_model_dir(embedded_gguf_path()).parent == tmp_path / "c" / "models"


def test_embedded_model_is_converted_once_and_reused(engine) -> None:
    name, path, converted = resolve_model(None)
    assert name == "SmolLM2-135M-Instruct" and not converted  # the session fixture converted or found it
    files = {p.name for p in Path(path).iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= files
    assert engine.loaded.path == path and engine.device == "cpu"


def test_hf_ids_pass_through_unchanged() -> None:
    assert resolve_model("org/some-model") == ("org/some-model", "org/some-model", False)


def test_a_local_model_directory_loads(engine) -> None:
    loaded = load_model(engine.loaded.path, device="cpu")
    assert loaded.model.config.vocab_size == engine.vocab_size
    assert eos_token_ids(loaded.tokenizer, loaded.model) == engine.eos_ids == [2]


def test_missing_model_is_an_engine_error(tmp_path) -> None:
    with pytest.raises(EngineError, match="cannot load model"):
        load_model(str(tmp_path), device="cpu")
