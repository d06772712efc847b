"""Syntax checks with tree-sitter: in-process, the same on every machine, independent of llguidance.

A text is accepted when tree-sitter's tree for it (embedded in a file by :func:`ananke.grammars._wrap`
for entries that are not whole files) has no ERROR and no MISSING node. The grammars come from the
PyPI wheels ``tree-sitter-typescript``, ``-rust``, ``-go``, ``-zig`` and ``-python``; a language whose
wheel is not installed is reported as unavailable (None). Parsers are kept per thread (a tree-sitter
``Parser`` must not be shared between threads).
"""

from __future__ import annotations

import importlib
import threading
from functools import cache
from typing import Any

__all__ = ["TREE_SITTER_LANGUAGES", "tree_sitter_accepts", "tree_sitter_available"]

# language -> (module, function returning the grammar's language pointer)
TREE_SITTER_LANGUAGES: dict[str, tuple[str, str]] = {
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "rust": ("tree_sitter_rust", "language"),
    "go": ("tree_sitter_go", "language"),
    "zig": ("tree_sitter_zig", "language"),
    "python": ("tree_sitter_python", "language"),
}
_local = threading.local()


@cache
def _language(language: str) -> Any | None:
    try:
        import tree_sitter

        module, function = TREE_SITTER_LANGUAGES[language]
        return tree_sitter.Language(getattr(importlib.import_module(module), function)())
    except (ImportError, AttributeError, KeyError, ValueError):
        return None


def tree_sitter_available(language: str) -> bool:
    """Is tree-sitter and the grammar wheel for ``language`` installed?"""
    return _language(language) is not None


def _parser(language: str) -> Any:
    parsers = getattr(_local, "parsers", None)
    if parsers is None:
        parsers = _local.parsers = {}
    if language not in parsers:
        import tree_sitter

        parsers[language] = tree_sitter.Parser(_language(language))
    return parsers[language]


def tree_sitter_accepts(language: str, source: str) -> bool | None:
    """Does tree-sitter parse the whole file ``source`` without ERROR/MISSING nodes? None: unavailable."""
    if _language(language) is None:
        return None
    tree = _parser(language).parse(source.encode("utf-8"))
    return not tree.root_node.has_error
