"""Ananke's one settings model: code defaults < YAML file < environment variables (< CLI flags / per-request).

Every setting — of the service, the vLLM engine and the Modal deployment — has a dotted name, a
type, a code default and one environment variable, in :data:`FIELDS`; nothing else in Ananke
reads ``ANANKE_*`` variables on its own (``ananke.client`` reads ``ANANKE_URL`` and
``ANANKE_API_KEY`` as a client's defaults)::

    model: null                 # ANANKE_MODEL        (null: the embedded SmolLM2-135M-Instruct)
    engine: transformers        # ANANKE_ENGINE       (transformers | vllm)
    device: null                # ANANKE_DEVICE       (cpu | cuda | null: auto)
    server:   {host: 127.0.0.1, port: 8000}
    generation: {max_tokens: 2048, temperature: 0.7, top_p: 0.95, top_k: 50}
    limits:   {max_tokens_cap: 4096, max_prompt_chars: 200000, max_body_bytes: 4194304,
               max_queue: 64, compile_timeout_s: 10.0, request_timeout_s: 600.0, shutdown_grace_s: 10.0}
    cache:    {size: 256}
    vllm:     {gpu_memory_utilization: null, kv_cache_gib: null, max_model_len: null, max_num_seqs: null,
               enforce_eager: false, tensor_parallel_size: 1, dtype: auto, quantization: null,
               revision: null, tokenizer: null, download_dir: null}      # the vLLM engine only
    modal:    {mode: dev, gpu: A100-80GB, gpu_count: 1, max_concurrent: 32, min_containers: null,
               max_containers: null}                                    # modal_app.py, at deploy time
    auth:     {api_key: null, require_api_key: false}
    logging:  {level: INFO, json: true}
    plugins: null               # ANANKE_PLUGINS      (environment only: comma-separated plugin names)
    cache.dir: null             # ANANKE_CACHE_DIR    (environment only: converted models; null: ~/.cache/ananke)
    client.url: null            # ANANKE_URL          (environment only: the server AnankeClient talks to)

The file is ``--config FILE``, else ``$ANANKE_CONFIG``, else ``./ananke.yaml`` when it exists.
Per-request parameters (``max_tokens``, ``temperature``, ...) override ``generation.*``.
``ananke config`` prints the effective values and where each came from.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ananke.errors import ConfigError

__all__ = ["FIELDS", "AnankeConfig", "ConfigError", "Field", "env_setting", "find_config_file", "load_config"]


@dataclass(frozen=True)
class Field:
    name: str  # dotted, e.g. "limits.max_queue"
    type: type
    default: Any
    env: str
    help: str
    nullable: bool = False
    choices: tuple[str, ...] | None = None  # the allowed values (after lower-casing)
    env_only: bool = False  # read from the environment only: a process setting, not a file one


FIELDS: tuple[Field, ...] = (
    Field(
        "model",
        str,
        None,
        "ANANKE_MODEL",
        "model id or path (null: embedded SmolLM2-135M-Instruct; on Modal Qwen2.5-Coder-32B-Instruct)",
        True,
    ),
    Field("engine", str, "transformers", "ANANKE_ENGINE", "a registered engine (ananke.engines): transformers | vllm"),
    Field("device", str, None, "ANANKE_DEVICE", "cpu | cuda | null (auto)", True),
    Field("server.host", str, "127.0.0.1", "ANANKE_HOST", "address `ananke serve` binds"),
    Field("server.port", int, 8000, "ANANKE_PORT", "port `ananke serve` binds"),
    Field("generation.max_tokens", int, 2048, "ANANKE_MAX_TOKENS", "default max_tokens of a request"),
    Field("generation.temperature", float, 0.7, "ANANKE_TEMPERATURE", "default temperature"),
    Field("generation.top_p", float, 0.95, "ANANKE_TOP_P", "default top_p"),
    Field("generation.top_k", int, 50, "ANANKE_TOP_K", "default top_k"),
    Field("limits.max_tokens_cap", int, 4096, "ANANKE_MAX_TOKENS_CAP", "largest max_tokens a request may ask"),
    Field("limits.max_prompt_chars", int, 200_000, "ANANKE_MAX_PROMPT_CHARS", "longest prompt + context"),
    Field("limits.max_body_bytes", int, 4 * 1024 * 1024, "ANANKE_MAX_BODY_BYTES", "largest request body (413)"),
    Field("limits.max_queue", int, 64, "ANANKE_MAX_QUEUE", "generation requests in flight before 429"),
    Field("limits.compile_timeout_s", float, 10.0, "ANANKE_COMPILE_TIMEOUT", "compile/validate time limit"),
    Field("limits.request_timeout_s", float, 600.0, "ANANKE_REQUEST_TIMEOUT", "generation time limit (504)"),
    Field("limits.shutdown_grace_s", float, 10.0, "ANANKE_SHUTDOWN_GRACE", "wait for in-flight work on shutdown"),
    Field("cache.size", int, 256, "ANANKE_CACHE_SIZE", "compiled constraints kept (LRU)"),
    Field(
        "vllm.gpu_memory_utilization",
        float,
        None,
        "ANANKE_GPU_MEMORY_UTILIZATION",
        "share of GPU memory vLLM takes (CPU backend: share of RAM; null: 0.90 on GPUs)",
        True,
    ),
    Field(
        "vllm.kv_cache_gib",
        float,
        None,
        "ANANKE_KV_CACHE_GIB",
        "KV cache size in GiB (null: from gpu_memory_utilization on GPUs, 1 GiB on CPU)",
        True,
    ),
    Field(
        "vllm.max_model_len",
        int,
        None,
        "ANANKE_MAX_MODEL_LEN",
        "context length (null: the model's; on Modal 16384)",
        True,
    ),
    Field(
        "vllm.max_num_seqs",
        int,
        None,
        "ANANKE_MAX_NUM_SEQS",
        "requests batched at once (null: vLLM's; on Modal modal.max_concurrent)",
        True,
    ),
    Field(
        "vllm.enforce_eager",
        bool,
        False,
        "ANANKE_ENFORCE_EAGER",
        "skip torch.compile and CUDA graphs (faster start, slower decode)",
    ),
    Field("vllm.tensor_parallel_size", int, 1, "ANANKE_TENSOR_PARALLEL", "GPUs one model is sharded over"),
    Field("vllm.dtype", str, "auto", "ANANKE_DTYPE", "weights dtype (auto | bfloat16 | float16 | float32)"),
    Field("vllm.quantization", str, None, "ANANKE_QUANTIZATION", "quantization method (null: none)", True),
    Field("vllm.revision", str, None, "ANANKE_MODEL_REVISION", "model revision (branch, tag, commit)", True),
    Field("vllm.tokenizer", str, None, "ANANKE_TOKENIZER", "tokenizer id or path (null: the model's)", True),
    Field("vllm.download_dir", str, None, "ANANKE_DOWNLOAD_DIR", "where weights are downloaded", True),
    Field(
        "modal.mode",
        str,
        "dev",
        "MODAL_MODE",
        "dev | demo | prod: scaledown 120 / 600 / 300 s",
        choices=("dev", "demo", "prod"),
    ),
    Field("modal.gpu", str, "A100-80GB", "ANANKE_GPU", "Modal GPU type of the inference class"),
    Field("modal.gpu_count", int, 1, "ANANKE_GPU_COUNT", "GPUs per container (= vLLM tensor parallelism)"),
    Field("modal.max_concurrent", int, 32, "ANANKE_MAX_CONCURRENT", "requests one GPU container takes at once"),
    Field(
        "modal.min_containers",
        int,
        None,
        "ANANKE_MIN_CONTAINERS",
        "warm GPU containers (null: 1 in prod, else 0)",
        True,
    ),
    Field(
        "modal.max_containers",
        int,
        None,
        "ANANKE_MAX_CONTAINERS",
        "GPU containers at most (null: dev 1, demo 2, prod 8)",
        True,
    ),
    Field("auth.api_key", str, None, "ANANKE_API_KEY", "bearer token required when set", True),
    Field("auth.require_api_key", bool, False, "ANANKE_REQUIRE_API_KEY", "refuse to start without an api_key"),
    Field("logging.level", str, "INFO", "ANANKE_LOG_LEVEL", "DEBUG | INFO | WARNING | ERROR"),
    Field("logging.json", bool, True, "ANANKE_LOG_JSON", "structured JSON log lines"),
    Field(
        "plugins",
        str,
        None,
        "ANANKE_PLUGINS",
        "comma-separated constraint plugins to load (null: all)",
        True,
        env_only=True,
    ),
    Field(
        "cache.dir",
        str,
        None,
        "ANANKE_CACHE_DIR",
        "converted models and caches (null: ~/.cache/ananke)",
        True,
        env_only=True,
    ),
    Field(
        "client.url",
        str,
        None,
        "ANANKE_URL",
        "server AnankeClient talks to (null: http://127.0.0.1:8000)",
        True,
        env_only=True,
    ),
)
_BY_NAME = {f.name: f for f in FIELDS}
_SECRET = {"auth.api_key"}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _convert(field: Field, value: Any, origin: str) -> Any:
    if value is None or (isinstance(value, str) and field.nullable and value.strip().lower() in ("", "null", "none")):
        if field.nullable:
            return None
        raise ConfigError(f"{field.name} ({origin}) may not be null")
    try:
        if field.type is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE | _FALSE:
                return text in _TRUE
            raise ValueError(f"not a boolean: {value!r}")
        if field.type is int and (isinstance(value, bool) or (isinstance(value, float) and not value.is_integer())):
            raise ValueError(f"not an integer: {value!r}")
        if field.choices is not None:
            return _choice(field, value)
        return field.type(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{field.name} ({origin}): {exc}") from exc


def _choice(field: Field, value: Any) -> str:
    text = str(value).strip().lower()
    if text not in field.choices:
        raise ValueError(f"must be one of {', '.join(field.choices)}; got {value!r}")
    return text


def env_setting(name: str, env: Mapping[str, str] | None = None) -> Any:
    """One setting from the environment alone (default ``os.environ``), converted; its default when unset.

    For the ``env_only`` settings, read where they apply (``plugins`` by the plugin host,
    ``cache.dir`` by the model loader) without a configuration file.
    """
    field = _BY_NAME[name]
    env = os.environ if env is None else env
    return _convert(field, env[field.env], f"${field.env}") if field.env in env else field.default


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and name not in _BY_NAME:
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def find_config_file(path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> Path | None:
    """``path``, else ``$ANANKE_CONFIG``, else ``./ananke.yaml`` when it exists, else None."""
    env = os.environ if env is None else env
    if path:
        return Path(path)
    if env.get("ANANKE_CONFIG"):
        return Path(env["ANANKE_CONFIG"])
    local = Path("ananke.yaml")
    return local if local.is_file() else None


def _read_file(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"config file {path} must hold a mapping, not {type(data).__name__}")
    flat = _flatten(data)
    unknown = sorted(set(flat) - set(_BY_NAME))
    if unknown:
        raise ConfigError(
            f"config file {path}: unknown setting(s) {', '.join(unknown)}; "
            f"known: {', '.join(f.name for f in FIELDS if not f.env_only)}"
        )
    env_only = sorted(name for name in flat if _BY_NAME[name].env_only)
    if env_only:
        raise ConfigError(
            f"config file {path}: {', '.join(env_only)} can only be set in the environment "
            f"({', '.join(_BY_NAME[name].env for name in env_only)})"
        )
    return flat


class AnankeConfig:
    """Effective settings plus where each came from (``default``, ``file:PATH``, ``env:VAR``, ``cli``)."""

    def __init__(self, values: dict[str, Any], sources: dict[str, str], file: Path | None = None) -> None:
        self.values = values
        self.sources = sources
        self.file = file

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)

    def with_overrides(self, overrides: Mapping[str, Any], source: str = "cli") -> AnankeConfig:
        """A copy with ``overrides`` (dotted names; None values are skipped) applied."""
        values, sources = dict(self.values), dict(self.sources)
        for name, value in overrides.items():
            if value is None:
                continue
            field = _BY_NAME.get(name)
            if field is None:
                raise ConfigError(f"unknown setting {name!r}")
            values[name] = _convert(field, value, source)
            sources[name] = source
        return AnankeConfig(values, sources, self.file)

    def generation_defaults(self) -> dict[str, Any]:
        return {key.split(".", 1)[1]: self.values[key] for key in self.values if key.startswith("generation.")}

    def to_dict(self, *, reveal_secrets: bool = False) -> dict[str, dict[str, Any]]:
        out = {}
        for field in FIELDS:
            value = self.values[field.name]
            if field.name in _SECRET and value is not None and not reveal_secrets:
                value = "***"
            out[field.name] = {"value": value, "source": self.sources[field.name], "env": field.env}
        return out

    def render(self) -> str:
        """Aligned ``name = value  (source)`` lines for ``ananke config``."""
        rows = self.to_dict()
        width = max(len(name) for name in rows)
        lines = [f"# config file: {self.file if self.file else '(none)'}"]
        for name, row in rows.items():
            value = "null" if row["value"] is None else row["value"]
            if isinstance(value, bool):
                value = str(value).lower()
            lines.append(f"{name:<{width}} = {value!s:<24} ({row['source']})")
        return "\n".join(lines)


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> AnankeConfig:
    """Defaults < YAML file < environment < ``overrides`` (e.g. CLI flags). Raises :class:`ConfigError`."""
    env = os.environ if env is None else env
    values = {f.name: f.default for f in FIELDS}
    sources = {f.name: "default" for f in FIELDS}
    file = find_config_file(path, env)
    if file is not None:
        if not file.is_file() and (path or env.get("ANANKE_CONFIG")):
            raise ConfigError(f"config file {file} does not exist")
        for name, value in _read_file(file).items():
            values[name] = _convert(_BY_NAME[name], value, f"file {file}")
            sources[name] = f"file:{file}"
    for field in FIELDS:
        if field.env in env:
            values[field.name] = _convert(field, env[field.env], f"${field.env}")
            sources[field.name] = f"env:{field.env}"
    config = AnankeConfig(values, sources, file)
    return config.with_overrides(overrides or {}) if overrides else config
