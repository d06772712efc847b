"""Ananke's settings model as a pydantic-settings ``BaseSettings``: each layer is a settings source.

Highest first: CLI flags (pydantic-settings' ``InitSettingsSource``: the keyword arguments), the
environment (:class:`EnvSource`: the flat names of :data:`ananke._config.FIELDS`, e.g.
``ANANKE_MAX_NUM_SEQS`` for ``vllm.max_num_seqs``, looked up in a mapping so that a caller's own
``env`` works as ``os.environ`` does), the YAML file (:class:`YamlFileSource`), the code defaults.
Each source records the dotted names it supplied: the source ``ananke config`` shows for each value.

Only :func:`ananke._config.load_config` imports this module: pydantic-settings imports asyncio,
which ``import ananke`` and ``ananke validate`` do without.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, YamlConfigSettingsSource

from ananke._config import FIELDS, ConfigError, Settings, config_error, find_config_file, flatten, nest

__all__ = ["AnankeSettings", "EnvSource", "YamlFileSource", "load_settings"]

_BY_NAME = {f.name: f for f in FIELDS}


class EnvSource(PydanticBaseSettingsSource):
    """The variables of :data:`~ananke._config.FIELDS` that ``env`` holds, as the model's nested mapping."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self.env = env
        self.supplied: dict[str, str] = {}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # not used: the variables are flat, the model is nested (see __call__)

    def __call__(self) -> dict[str, Any]:
        found = {f.name: self.env[f.env] for f in FIELDS if f.env in self.env}
        self.supplied = {name: f"env:{_BY_NAME[name].env}" for name in found}
        return _validated(nest(found), self.supplied)


class YamlFileSource(YamlConfigSettingsSource):
    """The YAML file: a mapping of file settings (not the environment-only ones); ConfigError otherwise."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None) -> None:
        self.supplied: dict[str, str] = {}
        super().__init__(settings_cls, yaml_file=path)

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        try:
            data = yaml.safe_load(file_path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read config file {file_path}: {exc}") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {file_path} is not valid YAML: {exc}") from exc
        if data is None:
            return {}
        if not isinstance(data, Mapping):
            raise ConfigError(f"config file {file_path} must hold a mapping, not {type(data).__name__}")
        flat = flatten(data)
        _check_file_names(file_path, flat)
        self.supplied = dict.fromkeys(flat, f"file:{file_path}")
        return _validated(dict(data), self.supplied)


def _validated(data: dict[str, Any], supplied: Mapping[str, str]) -> dict[str, Any]:
    """``data`` unchanged once valid on its own: a bad value is an error even where a higher layer overrides it."""
    try:
        Settings.model_validate(data)
    except ValidationError as exc:
        raise config_error(exc, supplied) from None
    return data


def _check_file_names(path: Path, flat: Mapping[str, Any]) -> None:
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


@dataclass
class _Layers:
    """What one construction of :class:`AnankeSettings` reads; ``sources`` is filled in as it is built."""

    env: Mapping[str, str]
    file: Path | None
    sources: list[EnvSource | YamlFileSource] = field(default_factory=list)


# settings_customise_sources is a classmethod: load_settings hands it this call's env and file here
_LAYERS: ContextVar[_Layers | None] = ContextVar("ananke_settings_layers", default=None)


class AnankeSettings(BaseSettings, Settings):
    """:class:`~ananke._config.Settings` read from its layers.

    ``AnankeSettings(**cli)`` reads ``os.environ`` and ``$ANANKE_CONFIG`` or ``./ananke.yaml``;
    :func:`load_settings` reads a given environment and file and tells the source of each value.
    """

    model_config = SettingsConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True, validate_default=False)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        layers = _LAYERS.get() or _Layers(os.environ, find_config_file())
        layers.sources = [EnvSource(settings_cls, layers.env), YamlFileSource(settings_cls, layers.file)]
        return (init_settings, *layers.sources)


def load_settings(
    env: Mapping[str, str], file: Path | None, cli: Mapping[str, Any]
) -> tuple[AnankeSettings, dict[str, str]]:
    """The settings from ``cli`` (dotted names) > ``env`` > ``file`` > defaults, and the source of each non-default."""
    layers = _Layers(env, file)
    token = _LAYERS.set(layers)
    try:
        settings = AnankeSettings(**nest(cli))
    except ValidationError as exc:
        raise config_error(exc, _sources(layers, cli)) from None
    finally:
        _LAYERS.reset(token)
    return settings, _sources(layers, cli)


def _sources(layers: _Layers, cli: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for supplied in (dict.fromkeys(cli, "cli"), *(source.supplied for source in layers.sources)):
        for name, label in supplied.items():
            out.setdefault(name, label)
    return out
