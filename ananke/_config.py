"""Ananke's one settings model: code defaults < YAML file < environment variables (< CLI flags / per-request).

:class:`Settings` is a typed pydantic model of every setting — of the service, the vLLM engine and
the Modal deployment — grouped as in the YAML file; each field carries its help and its one
environment variable. :class:`ananke._settings.AnankeSettings` is the same model as a
``pydantic_settings.BaseSettings`` whose sources are the layers (CLI flags > environment > file >
defaults). :data:`FIELDS` lists the settings by dotted name; nothing else in Ananke reads ``ANANKE_*``
variables on its own (``ananke.client`` reads ``ANANKE_URL`` and ``ANANKE_API_KEY`` through
:func:`env_setting`)::

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

This module imports pydantic only; :mod:`ananke._settings` (pydantic-settings, which imports asyncio)
is imported by :func:`load_config`, so ``import ananke`` and ``ananke validate`` stay fast.
"""

from __future__ import annotations

import os
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

from ananke.errors import ConfigError

__all__ = [
    "FIELDS",
    "AnankeConfig",
    "ConfigError",
    "Field",
    "Settings",
    "env_setting",
    "find_config_file",
    "load_config",
]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_NULL = {"", "null", "none"}


def _setting(default: Any, env: str, help: str, *, env_only: bool = False, **constraints: Any) -> Any:
    """A field of the model: ``env`` is its one environment variable; ``env_only`` keeps it out of the file."""
    extra: dict[str, Any] = {"env": env, "env_only": env_only}
    return pydantic.Field(default, description=help, json_schema_extra=extra, **constraints)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    @field_validator("*", mode="before")
    @classmethod
    def _text_forms(cls, value: Any, info: ValidationInfo) -> Any:
        """The forms environment variables and YAML give: ``null``/``none``/empty, ``yes``/``off``, ``" Prod "``."""
        field = cls.model_fields[info.field_name or ""]
        base, nullable = _base_type(field.annotation)
        if isinstance(base, type) and issubclass(base, BaseModel):
            return value
        if nullable and (value is None or (isinstance(value, str) and value.strip().lower() in _NULL)):
            return None
        if base is bool and isinstance(value, (str, int)) and not isinstance(value, bool):
            text = str(value).strip().lower()
            if text not in _TRUE | _FALSE:
                raise ValueError("not a boolean")
            return text in _TRUE
        if base is int and isinstance(value, bool):
            raise ValueError("not an integer")
        if typing.get_origin(base) is Literal and isinstance(value, str):
            return value.strip().lower()
        return value


class ServerSettings(_Model):
    host: str = _setting("127.0.0.1", "ANANKE_HOST", "address `ananke serve` binds")
    port: int = _setting(8000, "ANANKE_PORT", "port `ananke serve` binds", ge=0, le=65535)


class GenerationSettings(_Model):
    max_tokens: int = _setting(2048, "ANANKE_MAX_TOKENS", "default max_tokens of a request", ge=1)
    temperature: float = _setting(0.7, "ANANKE_TEMPERATURE", "default temperature", ge=0.0, le=2.0)
    top_p: float = _setting(0.95, "ANANKE_TOP_P", "default top_p", gt=0.0, le=1.0)
    top_k: int = _setting(50, "ANANKE_TOP_K", "default top_k", ge=0)


class LimitsSettings(_Model):
    max_tokens_cap: int = _setting(4096, "ANANKE_MAX_TOKENS_CAP", "largest max_tokens a request may ask", ge=1)
    max_prompt_chars: int = _setting(200_000, "ANANKE_MAX_PROMPT_CHARS", "longest prompt + context", ge=1)
    max_body_bytes: int = _setting(4 * 1024 * 1024, "ANANKE_MAX_BODY_BYTES", "largest request body (413)", ge=1)
    max_queue: int = _setting(64, "ANANKE_MAX_QUEUE", "generation requests in flight before 429", ge=1)
    compile_timeout_s: float = _setting(10.0, "ANANKE_COMPILE_TIMEOUT", "compile/validate time limit", gt=0.0)
    request_timeout_s: float = _setting(600.0, "ANANKE_REQUEST_TIMEOUT", "generation time limit (504)", gt=0.0)
    shutdown_grace_s: float = _setting(10.0, "ANANKE_SHUTDOWN_GRACE", "wait for in-flight work on shutdown", ge=0.0)


class CacheSettings(_Model):
    size: int = _setting(256, "ANANKE_CACHE_SIZE", "compiled constraints kept (LRU)", ge=1)
    dir: str | None = _setting(
        None, "ANANKE_CACHE_DIR", "converted models and caches (null: ~/.cache/ananke)", env_only=True
    )


class VllmEngineSettings(_Model):
    """The vLLM engine's settings (``ananke.runtime.engines.vllm.VllmSettings.from_config`` reads them)."""

    gpu_memory_utilization: float | None = _setting(
        None,
        "ANANKE_GPU_MEMORY_UTILIZATION",
        "share of GPU memory vLLM takes (CPU backend: share of RAM; null: 0.90 on GPUs)",
        gt=0.0,
        le=1.0,
    )
    kv_cache_gib: float | None = _setting(
        None,
        "ANANKE_KV_CACHE_GIB",
        "KV cache size in GiB (null: from gpu_memory_utilization on GPUs, 1 GiB on CPU)",
        gt=0.0,
    )
    max_model_len: int | None = _setting(
        None, "ANANKE_MAX_MODEL_LEN", "context length (null: the model's; on Modal 16384)", ge=1
    )
    max_num_seqs: int | None = _setting(
        None, "ANANKE_MAX_NUM_SEQS", "requests batched at once (null: vLLM's; on Modal modal.max_concurrent)", ge=1
    )
    enforce_eager: bool = _setting(
        False, "ANANKE_ENFORCE_EAGER", "skip torch.compile and CUDA graphs (faster start, slower decode)"
    )
    tensor_parallel_size: int = _setting(1, "ANANKE_TENSOR_PARALLEL", "GPUs one model is sharded over", ge=1)
    dtype: str = _setting("auto", "ANANKE_DTYPE", "weights dtype (auto | bfloat16 | float16 | float32)")
    quantization: str | None = _setting(None, "ANANKE_QUANTIZATION", "quantization method (null: none)")
    revision: str | None = _setting(None, "ANANKE_MODEL_REVISION", "model revision (branch, tag, commit)")
    tokenizer: str | None = _setting(None, "ANANKE_TOKENIZER", "tokenizer id or path (null: the model's)")
    download_dir: str | None = _setting(None, "ANANKE_DOWNLOAD_DIR", "where weights are downloaded")


class ModalSettings(_Model):
    """The Modal deployment's settings, read by ``modal_app.py`` at deploy time."""

    mode: Literal["dev", "demo", "prod"] = _setting(
        "dev", "MODAL_MODE", "dev | demo | prod: scaledown 120 / 600 / 300 s"
    )
    gpu: str = _setting("A100-80GB", "ANANKE_GPU", "Modal GPU type of the inference class")
    gpu_count: int = _setting(1, "ANANKE_GPU_COUNT", "GPUs per container (= vLLM tensor parallelism)", ge=1)
    max_concurrent: int = _setting(32, "ANANKE_MAX_CONCURRENT", "requests one GPU container takes at once", ge=1)
    min_containers: int | None = _setting(
        None, "ANANKE_MIN_CONTAINERS", "warm GPU containers (null: 1 in prod, else 0)", ge=0
    )
    max_containers: int | None = _setting(
        None, "ANANKE_MAX_CONTAINERS", "GPU containers at most (null: dev 1, demo 2, prod 8)", ge=1
    )


class AuthSettings(_Model):
    api_key: str | None = _setting(None, "ANANKE_API_KEY", "bearer token required when set")
    require_api_key: bool = _setting(False, "ANANKE_REQUIRE_API_KEY", "refuse to start without an api_key")


class LoggingSettings(_Model):
    level: str = _setting("INFO", "ANANKE_LOG_LEVEL", "DEBUG | INFO | WARNING | ERROR")
    json_: bool = _setting(True, "ANANKE_LOG_JSON", "structured JSON log lines", alias="json")  # BaseModel.json


class ClientSettings(_Model):
    url: str | None = _setting(
        None, "ANANKE_URL", "server AnankeClient talks to (null: http://127.0.0.1:8000)", env_only=True
    )


class Settings(_Model):
    """Every setting, typed and grouped as in the YAML file (``ananke config`` lists them by dotted name)."""

    model: str | None = _setting(
        None,
        "ANANKE_MODEL",
        "model id or path (null: embedded SmolLM2-135M-Instruct; on Modal Qwen2.5-Coder-32B-Instruct)",
    )
    engine: str = _setting("transformers", "ANANKE_ENGINE", "a registered engine (ananke.engines): transformers | vllm")
    device: str | None = _setting(None, "ANANKE_DEVICE", "cpu | cuda | null (auto)")
    server: ServerSettings = ServerSettings()
    generation: GenerationSettings = GenerationSettings()
    limits: LimitsSettings = LimitsSettings()
    # before ``cache`` so that the environment-only settings list as plugins, cache.dir, client.url
    plugins: str | None = _setting(
        None, "ANANKE_PLUGINS", "comma-separated constraint plugins to load (null: all)", env_only=True
    )
    cache: CacheSettings = CacheSettings()
    vllm: VllmEngineSettings = VllmEngineSettings()
    modal: ModalSettings = ModalSettings()
    auth: AuthSettings = AuthSettings()
    logging: LoggingSettings = LoggingSettings()
    client: ClientSettings = ClientSettings()


def _base_type(annotation: Any) -> tuple[Any, bool]:
    """``(T, nullable)`` of ``T`` or ``T | None``."""
    args = typing.get_args(annotation)
    if type(None) in args and typing.get_origin(annotation) is not Literal:
        rest = [a for a in args if a is not type(None)]
        return rest[0], True
    return annotation, False


@dataclass(frozen=True)
class Field:
    """One setting of :class:`Settings`, by dotted name (a row of ``ananke config``)."""

    name: str  # dotted, e.g. "limits.max_queue"
    type: type
    default: Any
    env: str
    help: str
    nullable: bool = False
    choices: tuple[str, ...] | None = None  # the allowed values (after lower-casing)
    env_only: bool = False  # read from the environment only: a process setting, not a file one
    constraints: tuple[str, ...] = ()  # e.g. (">= 1",)


_BOUNDS = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}


def _row(name: str, info: Any) -> Field:
    base, nullable = _base_type(info.annotation)
    choices = typing.get_args(base) if typing.get_origin(base) is Literal else None
    bounds = tuple(
        f"{sign} {getattr(m, attr)}" for m in info.metadata for attr, sign in _BOUNDS.items() if hasattr(m, attr)
    )
    extra = info.json_schema_extra
    return Field(
        name=name,
        type=str if choices else base,
        default=info.default,
        env=extra["env"],
        help=info.description,
        nullable=nullable,
        choices=choices,
        env_only=extra["env_only"],
        constraints=bounds,
    )


def _rows(model: type[BaseModel], prefix: str = "") -> list[Field]:
    out = []
    for key, info in model.model_fields.items():
        name = f"{prefix}{info.alias or key}"
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
            out.extend(_rows(info.annotation, f"{name}."))
        else:
            out.append(_row(name, info))
    return out


#: every setting by dotted name: the file's ones in the model's order, then the environment-only ones
FIELDS: tuple[Field, ...] = tuple(sorted(_rows(Settings), key=lambda f: f.env_only))
_BY_NAME = {f.name: f for f in FIELDS}
_SECRET = {"auth.api_key"}


def _expected(field: Field) -> str:
    """What ``field`` accepts, in words, for error messages."""
    if field.choices:
        words = f"one of {', '.join(field.choices)}"
    else:
        words = {bool: "a boolean (true/false, 1/0, yes/no, on/off)", int: "an integer", float: "a number"}.get(
            field.type, "a string"
        )
        if field.constraints:
            words += " " + " and ".join(field.constraints)
    return f"{words} or null" if field.nullable else words


def _origin_of(source: str) -> str:
    """``env:VAR`` → ``$VAR``, ``file:PATH`` → ``file PATH``: where a value came from, in an error message."""
    kind, _, where = source.partition(":")
    return {"env": f"${where}", "file": f"file {where}"}.get(kind, source)


def config_error(exc: ValidationError, sources: Mapping[str, str]) -> ConfigError:
    """One :class:`ConfigError` for every error of ``exc``: the setting, where its value came from, what it accepts."""
    lines = []
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"])
        field = _BY_NAME.get(name)
        if field is None:
            lines.append(f"{name}: {error['msg']}")
            continue
        got = "null" if error["input"] is None else repr(error["input"])
        lines.append(f"{name} ({_origin_of(sources.get(name, 'default'))}): must be {_expected(field)}; got {got}")
    return ConfigError("; ".join(lines))


def nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """``{"vllm.max_num_seqs": 5}`` → ``{"vllm": {"max_num_seqs": 5}}``."""
    out: dict[str, Any] = {}
    for name, value in flat.items():
        *groups, key = name.split(".")
        node = out
        for group in groups:
            node = node.setdefault(group, {})
        node[key] = value
    return out


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """The nested mapping of a YAML file → dotted names (a value under an unknown name stays whole)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and name not in _BY_NAME:
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def _values(settings: BaseModel) -> dict[str, Any]:
    dumped = flatten(settings.model_dump(by_alias=True))
    return {f.name: dumped[f.name] for f in FIELDS}


def _validate(flat: Mapping[str, Any], sources: Mapping[str, str]) -> Settings:
    try:
        return Settings.model_validate(nest(flat))
    except ValidationError as exc:
        raise config_error(exc, sources) from None


def env_setting(name: str, env: Mapping[str, str] | None = None) -> Any:
    """One setting from the environment alone (default ``os.environ``), validated; its default when unset.

    For the ``env_only`` settings, read where they apply (``plugins`` by the plugin host,
    ``cache.dir`` by the model loader) without a configuration file.
    """
    field = _BY_NAME[name]
    env = os.environ if env is None else env
    if field.env not in env:
        return field.default
    return _values(_validate({name: env[field.env]}, {name: f"env:{field.env}"}))[name]


def find_config_file(path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> Path | None:
    """``path``, else ``$ANANKE_CONFIG``, else ``./ananke.yaml`` when it exists, else None."""
    env = os.environ if env is None else env
    if path:
        return Path(path)
    if env.get("ANANKE_CONFIG"):
        return Path(env["ANANKE_CONFIG"])
    local = Path("ananke.yaml")
    return local if local.is_file() else None


class AnankeConfig:
    """Effective settings plus where each came from (``default``, ``file:PATH``, ``env:VAR``, ``cli``).

    ``settings`` is the typed :class:`Settings`; ``values`` the same by dotted name.
    """

    def __init__(self, settings: Settings, sources: Mapping[str, str], file: Path | None = None) -> None:
        self.settings = settings
        self.values = _values(settings)
        self.sources = {f.name: sources.get(f.name, "default") for f in FIELDS}
        self.file = file

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)

    def with_overrides(self, overrides: Mapping[str, Any], source: str = "cli") -> AnankeConfig:
        """A copy with ``overrides`` (dotted names; None values are skipped) applied."""
        given = {name: value for name, value in overrides.items() if value is not None}
        _check_names(given)
        sources = {**self.sources, **dict.fromkeys(given, source)}
        return AnankeConfig(_validate({**self.values, **given}, sources), sources, self.file)

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


def _check_names(flat: Mapping[str, Any]) -> None:
    unknown = sorted(set(flat) - set(_BY_NAME))
    if unknown:
        raise ConfigError(f"unknown setting {unknown[0]!r}; known: {', '.join(_BY_NAME)}")


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> AnankeConfig:
    """Defaults < YAML file < environment < ``overrides`` (e.g. CLI flags). Raises :class:`ConfigError`."""
    from ananke._settings import load_settings

    env = os.environ if env is None else env
    file = find_config_file(path, env)
    if file is not None and not file.is_file() and (path or env.get("ANANKE_CONFIG")):
        raise ConfigError(f"config file {file} does not exist")
    given = {name: value for name, value in (overrides or {}).items() if value is not None}
    _check_names(given)
    settings, sources = load_settings(env, file, given)
    return AnankeConfig(settings, sources, file)
