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

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

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


# -- one real vLLM engine (AsyncLLM on vLLM's CPU backend) for the whole session ----------------


class EngineLoop:
    """An event loop in a daemon thread: the engine, the HTTP server and the tests' coroutines share it.

    vLLM's ``AsyncLLM`` belongs to the loop it first generates on, so everything that talks to it
    (uvicorn's request handlers and the direct calls of the tests) runs on this one loop.
    """

    def __init__(self) -> None:
        import asyncio
        import threading

        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="vllm-tier-loop")
        self._thread.start()

    def run(self, coro: Any, timeout: float = 600.0) -> Any:
        import asyncio

        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)


class ServedEngine:
    """:class:`VllmEngine` over the embedded model, its generation service and a live HTTP server."""

    def __init__(self, loop: EngineLoop, engine: Any, service: Any, server: Any, url: str) -> None:
        self.loop, self.engine, self.service, self.server, self.url = loop, engine, service, server, url

    def generate(self, request: dict[str, Any], timeout: float = 600.0) -> Any:
        return self.loop.run(self.service.generate(request), timeout)


#: the vLLM tier's engine: eager (no torch.compile: starts in ~30 s), a 1 GiB KV cache
TIER_SETTINGS = {"enforce_eager": True, "kv_cache_gib": 1.0, "max_model_len": 4096, "max_num_seqs": 32}


def _start_served_engine() -> ServedEngine:
    import time

    import uvicorn

    from ananke._config import load_config
    from ananke.runtime import ConstraintCache, GenerationService
    from ananke.runtime.engines._vllm import VllmEngine, VllmSettings
    from ananke.server import create_app
    from ananke.server._serve import bind_socket

    loop = EngineLoop()
    cache = ConstraintCache(maxsize=128)

    async def make_engine() -> Any:
        return VllmEngine(VllmSettings(**TIER_SETTINGS), cache=cache)

    engine = loop.run(make_engine())
    service = GenerationService(engine, cache=cache)
    app = create_app(service, load_config(env={}))
    sock = bind_socket("127.0.0.1", 0)
    server = uvicorn.Server(
        uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="on", log_config=None, timeout_graceful_shutdown=5
        )
    )
    import asyncio

    asyncio.run_coroutine_threadsafe(server.serve(sockets=[sock]), loop.loop)
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline:
            raise TimeoutError("the HTTP server over the vLLM engine did not start")
        time.sleep(0.05)
    return ServedEngine(loop, engine, service, server, f"http://127.0.0.1:{sock.getsockname()[1]}")


@pytest.fixture(scope="session")
def served(model_dir: Path) -> Any:
    """The session's one vLLM engine on CPU, with its service and a real uvicorn server on 127.0.0.1."""
    import time

    running = _start_served_engine()
    yield running
    running.server.should_exit = True
    time.sleep(1.0)
    running.engine.shutdown()
    running.loop.stop()
