"""Fixtures of the vLLM contract tier: vLLM's own objects, built on CPU around the embedded model.

Runs only inside ``.venv-vllm`` (``bash scripts/vllm_venv.sh``): vLLM 0.32.0 with the CPU
build of torch. Nothing here needs a GPU: vLLM's request validation, its guidance backend
and its matchers are plain Python + llguidance.

The embedded SmolLM2 GGUF's config and tokenizer are exported once (about 5 s) to
``$ANANKE_CACHE_DIR/vllm-contract/`` so that vLLM can load them as an ordinary model dir.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the Hub: everything here is local
os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")

import shutil  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402

vllm = pytest.importorskip("vllm", reason="the vLLM contract tier runs in .venv-vllm (scripts/vllm_venv.sh)")


def _export_embedded_model() -> Path:
    from ananke.runtime._model import cache_dir, embedded_gguf_path

    gguf = embedded_gguf_path()
    target = cache_dir() / "vllm-contract" / f"{gguf.stem}-{gguf.stat().st_size}"
    if (target / "config.json").is_file() and (target / "tokenizer.json").is_file():
        return target
    from transformers import AutoConfig, AutoTokenizer

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".tmp-", dir=target.parent))
    try:
        AutoConfig.from_pretrained(str(gguf.parent), gguf_file=gguf.name).save_pretrained(str(tmp))
        AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name).save_pretrained(str(tmp))
        if not target.exists():
            tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


@pytest.fixture(scope="session")
def model_dir() -> Path:
    return _export_embedded_model()


@pytest.fixture(scope="session")
def tokenizer(model_dir: Path) -> Any:
    """The tokenizer exactly as vLLM loads it for serving."""
    from vllm.tokenizers import get_tokenizer

    return get_tokenizer(str(model_dir))


@pytest.fixture(scope="session")
def model_config(model_dir: Path) -> Any:
    from vllm.config import ModelConfig

    return ModelConfig(model=str(model_dir))


@pytest.fixture(scope="session")
def so_config() -> Any:
    from vllm.config import StructuredOutputsConfig

    return StructuredOutputsConfig(backend="guidance")


@pytest.fixture(scope="session")
def backend(tokenizer: Any, model_config: Any, so_config: Any) -> Any:
    """vLLM's GuidanceBackend, constructed as the engine core constructs it."""
    from vllm.config import DeviceConfig, VllmConfig
    from vllm.v1.structured_output.backend_guidance import GuidanceBackend

    config = VllmConfig(device_config=DeviceConfig(device="cpu"), structured_outputs_config=so_config)
    return GuidanceBackend(vllm_config=config, tokenizer=tokenizer, vocab_size=model_config.get_vocab_size())


@pytest.fixture(scope="session")
def llg_tok(backend: Any) -> Any:
    """The LLTokenizer vLLM serves with (our engine's ``llg_tokenizer()`` builds the same)."""
    return backend.ll_tokenizer


@pytest.fixture(scope="session")
def vocab_size(model_config: Any) -> int:
    return int(model_config.get_vocab_size())


@pytest.fixture(scope="session")
def eos_ids(tokenizer: Any) -> list[int]:
    return [tokenizer.eos_token_id]
