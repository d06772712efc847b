"""Call the deployed Modal app (``modal_app.py``) with Modal's SDK instead of HTTP.

    from ananke.modal_client import ModalClient
    client = ModalClient()                        # modal.Cls.from_name("ananke-inference", "Inference")
    out = client.generate("Write a haiku", constraint={"kind": "regex", "pattern": "[a-z ]+"})
    out["generated_text"], out["constraint_satisfied"]

Needs ``pip install modal`` and Modal credentials (``modal token new`` or
``MODAL_TOKEN_ID``/``MODAL_TOKEN_SECRET``). Errors come back as Ananke's own exceptions:
:class:`ananke.ConstraintError` (HTTP 400), :class:`ananke.RequestError` (422),
:class:`ananke.EngineError` (anything else).

:class:`RemoteService` is the same forwarding wrapped in the shape of
:class:`ananke.runtime.GenerationService`; the web endpoint of ``modal_app.py`` serves
``ananke.server.create_app(RemoteService(...))`` from a container without a GPU.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from ananke.errors import (
    AnankeError,
    ConstraintError,
    ConstraintLimitError,
    Diagnostic,
    EngineError,
    RequestError,
    UnknownKindError,
    UnsupportedFeatureError,
)

__all__ = [
    "APP_NAME",
    "CLASS_NAME",
    "ModalClient",
    "RemoteEngineInfo",
    "RemoteService",
    "error_from_body",
    "inference_handle",
]

APP_NAME = "ananke-inference"
CLASS_NAME = "Inference"

_CONSTRAINT_ERRORS: dict[str, type[ConstraintError]] = {
    cls.__name__: cls for cls in (ConstraintError, UnknownKindError, UnsupportedFeatureError, ConstraintLimitError)
}


def inference_handle(app_name: str = APP_NAME, *, environment_name: str | None = None) -> Any:
    """An instance handle of the deployed ``Inference`` class (looked up lazily by Modal)."""
    import modal  # optional dependency

    return modal.Cls.from_name(app_name, CLASS_NAME, environment_name=environment_name)()


def error_from_body(body: dict[str, Any]) -> AnankeError | None:
    """The Ananke exception an error body of ``Inference`` stands for, or None for a result."""
    status = body.get("status")
    if status is None or "error" not in body:
        return None
    if status == 400:
        cls = _CONSTRAINT_ERRORS.get(str(body.get("error")), ConstraintError)
        diagnostics = [
            Diagnostic(**{**d, "allowed": tuple(d["allowed"]) if d.get("allowed") else None})
            for d in body.get("errors", [])
        ] or [Diagnostic(str(body.get("message", "bad constraint")))]
        return cls(diagnostics)
    if status == 422:
        return RequestError(str(body.get("message", "bad request")), field=body.get("field"))
    return EngineError(f"{body.get('error')}: {body.get('message', '')}")


def _raise_for(body: dict[str, Any]) -> dict[str, Any]:
    error = error_from_body(body)
    if error is not None:
        raise error
    return body


def _request(prompt: str, **fields: Any) -> dict[str, Any]:
    return {"prompt": prompt, **{k: v for k, v in fields.items() if v is not None}}


class ModalClient:
    """Blocking and ``a``-prefixed async calls to the deployed ``Inference`` class."""

    def __init__(self, app_name: str = APP_NAME, *, environment_name: str | None = None, handle: Any = None) -> None:
        self.app_name = app_name
        self._handle = handle if handle is not None else inference_handle(app_name, environment_name=environment_name)

    def generate(self, prompt: str, **fields: Any) -> dict[str, Any]:
        """``fields``: the ``/generate_api`` body (constraint, constraints, max_tokens, ...)."""
        return _raise_for(self._handle.generate.remote(_request(prompt, **fields)))

    async def agenerate(self, prompt: str, **fields: Any) -> dict[str, Any]:
        return _raise_for(await self._handle.generate.remote.aio(_request(prompt, **fields)))

    def stream(self, prompt: str, **fields: Any) -> Iterator[dict[str, Any]]:
        """``{"token": ...}`` items, then ``{"done": True, "response": {...}}``."""
        for item in self._handle.generate_stream.remote_gen(_request(prompt, **fields)):
            yield _raise_for(item)

    async def astream(self, prompt: str, **fields: Any) -> AsyncIterator[dict[str, Any]]:
        async for item in self._handle.generate_stream.remote_gen.aio(_request(prompt, **fields)):
            yield _raise_for(item)

    def validate_constraints(
        self, constraint: Any, *, lenient: bool = False, kind: str | None = None
    ) -> dict[str, Any]:
        return self._handle.validate_constraints.remote(constraint, lenient, kind)

    def health(self) -> dict[str, Any]:
        return self._handle.health_check.remote()


class RemoteEngineInfo:
    """What the web app may ask of ``service.engine`` when the engine runs in another container."""

    name = "vllm"
    concurrent = True
    max_context: int | None = None

    def __init__(self, model_name: str | None = None) -> None:
        from ananke._config import env_setting

        self.model_name = model_name or env_setting("model") or "remote"

    def llg_tokenizer(self) -> None:
        """Unknown here; tokenizer-aware validation runs in ``Inference.validate_constraints``."""
        return None

    def count_tokens(self, text: str) -> int:
        return 0  # counted (and limited) by the GPU container's service


class RemoteService:
    """A :class:`~ananke.runtime.GenerationService` look-alike that forwards to ``Inference``.

    ``generate``/``stream`` go to the GPU container (``.remote.aio`` /
    ``.remote_gen.aio``); ``compile`` and ``validate`` run here (no tokenizer), and
    ``validate_remote`` asks the GPU container to validate against the served tokenizer.
    """

    def __init__(self, handle: Any = None, *, model_name: str | None = None) -> None:
        from ananke.runtime._cache import ConstraintCache

        self._handle = handle if handle is not None else inference_handle()
        self.engine = RemoteEngineInfo(model_name)
        self.cache = ConstraintCache()

    @staticmethod
    def _as_dict(request: Any) -> dict[str, Any]:
        if hasattr(request, "model_dump"):
            return request.model_dump(mode="json", exclude_none=True)
        return dict(request)

    async def generate(self, request: Any) -> Any:
        from ananke.runtime._service import GenerationResponse

        body = _raise_for(await self._handle.generate.remote.aio(self._as_dict(request)))
        return GenerationResponse.model_validate(body)

    async def stream(self, request: Any) -> AsyncIterator[Any]:
        from ananke.runtime._engine import StreamDelta
        from ananke.runtime._service import GenerationResponse

        async for item in self._handle.generate_stream.remote_gen.aio(self._as_dict(request)):
            _raise_for(item)
            if item.get("done"):
                yield GenerationResponse.model_validate(item["response"])
            else:
                yield StreamDelta(text=item.get("token", ""), token_ids=item.get("token_ids", []))

    def compile(self, source: Any, *, lenient: bool = False, kind: str | None = None) -> tuple[Any, bool]:
        return self.cache.get_compiled(source, lenient=lenient, tokenizer=None, kind=kind)

    async def validate_remote(
        self, constraint: Any, *, lenient: bool = False, kind: str | None = None
    ) -> dict[str, Any]:
        return await self._handle.validate_constraints.remote.aio(constraint, lenient, kind)

    async def health_remote(self) -> dict[str, Any]:
        return await self._handle.health_check.remote.aio()

    def health(self) -> dict[str, Any]:
        return {
            "model": self.engine.model_name,
            "engine": self.engine.name,
            "remote": True,
            "cache": self.cache.stats(),
        }

    def stats(self) -> dict[str, Any]:
        return self.cache.stats()

    async def aclose(self) -> None:
        return None
