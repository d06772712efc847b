"""Send an Ananke constraint to a vLLM OpenAI-compatible server that someone else runs.

    from openai import OpenAI
    from ananke.integrations.vllm import structured_outputs

    client = OpenAI(base_url="http://127.0.0.1:8000/v1", api_key="EMPTY")
    reply = client.chat.completions.create(
        model="my-model", messages=[{"role": "user", "content": "A year?"}], max_tokens=8,
        extra_body=structured_outputs({"kind": "regex", "pattern": "(19|20)[0-9]{2}"}))

vLLM ≥ 0.10 reads ``structured_outputs.grammar`` of a chat or completion request and hands the
text to its structured-output backend; Ananke's compiled grammars are llguidance Lark, which
only the ``guidance`` backend reads: start the server with
``--structured-outputs-config '{"backend": "guidance"}'``. The server enforces one grammar and no
token set, so a constraint that needs more is refused here instead of being silently weakened.
Nothing here imports vLLM or an HTTP client.
"""

from __future__ import annotations

from typing import Any

from ananke.errors import Diagnostic, UnsupportedFeatureError

__all__ = ["grammar_for_server", "structured_outputs"]


def grammar_for_server(constraint: Any, *, kind: str | None = None, lenient: bool = False) -> str:
    """The one Lark grammar (llguidance dialect) that carries ``constraint`` exactly.

    ``constraint``: anything :func:`ananke.compile` accepts, or a :class:`ananke.CompiledConstraint`.
    Raises :class:`UnsupportedFeatureError` when one grammar cannot carry it: an ``all_of`` whose
    parts compile to several grammars (Ananke intersects them token by token; a server takes one),
    a static token set (``token_mask``), or a constraint without any grammar.
    """
    from ananke.core import CompiledConstraint, compile_constraint

    compiled = (
        constraint
        if isinstance(constraint, CompiledConstraint)
        else compile_constraint(constraint, kind=kind, lenient=lenient)
    )
    token_mask = compiled.token_mask
    if token_mask is not None and (token_mask.allowed is not None or token_mask.forbidden):
        raise _refuse("it has a static token set (token_mask), which a grammar in the request cannot carry")
    grammars = list(compiled.grammars)
    if len(grammars) > 1:
        raise _refuse(
            f"it is the intersection of {len(grammars)} grammars (all_of parts that cannot be "
            "merged into one), and the server enforces one grammar per request"
        )
    if not grammars:
        raise _refuse("it compiles to no grammar")
    return grammars[0]


def structured_outputs(constraint: Any, *, kind: str | None = None, lenient: bool = False) -> dict[str, Any]:
    """The ``extra_body`` of an OpenAI-client request to vLLM: ``{"structured_outputs": {"grammar": ...}}``.

    Merge it into your own ``extra_body`` if you send other vLLM fields. Refuses what one
    grammar cannot carry (see :func:`grammar_for_server`).
    """
    return {"structured_outputs": {"grammar": grammar_for_server(constraint, kind=kind, lenient=lenient)}}


def _refuse(reason: str) -> UnsupportedFeatureError:
    return UnsupportedFeatureError(
        Diagnostic(
            f"this constraint cannot be sent to a vLLM server: {reason}. Run it with Ananke's own engines "
            "(`ananke serve`, or ananke.integrations.transformers), which enforce every part.",
            pointer="/constraint",
        )
    )
