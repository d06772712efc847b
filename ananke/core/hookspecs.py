"""Hook specifications of Ananke's plugin host (pluggy project ``ananke``).

A plugin is any module or object with ``@hookimpl`` functions; built-in plugins and
third-party ones load from the same entry-point group, ``ananke.constraints``, into one manager.
Every kind belongs to one plugin (:class:`ananke.core.PluginHost` refuses a second provider
unless one declares ``KindInfo(override=True)``), and the host calls ``ananke_lower_node`` and
``ananke_verify_node`` of that plugin only, with nodes of the kinds it declared: an
implementation needs no check of the node's type. ``ananke_normalize_input`` is offered to
every plugin; the first non-``None`` result wins.
"""

from __future__ import annotations

import pluggy

__all__ = ["ENTRY_POINT_GROUP", "PROJECT_NAME", "hookimpl", "hookspec"]

PROJECT_NAME = "ananke"
ENTRY_POINT_GROUP = "ananke.constraints"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def ananke_constraint_kinds():
    """Return the node kinds this plugin provides, as a list of :class:`ananke.KindInfo`.

    Each ``KindInfo`` names the kind, its pydantic node model (a subclass of
    :class:`ananke.NodeModel` with a ``kind: Literal[...]`` field) and a one-line description.
    """


@hookspec(firstresult=True)
def ananke_lower_node(node, ctx):
    """Lower ``node`` to llguidance's Lark dialect and return :class:`ananke.Lowered`.

    Called only with nodes of the kinds this plugin declares. ``ctx`` is a
    :class:`ananke.LoweringContext`: use ``ctx.fresh_name`` for collision-free rule names,
    ``ctx.lower(child, pointer)`` for nested nodes and ``ctx.error`` to fail with a diagnostic.
    """


@hookspec(firstresult=True)
def ananke_verify_node(node, text, ctx):
    """Check a finished ``text`` against ``node`` without llguidance; return a list of problems.

    An empty list means the text satisfies the node. Called only with nodes of the kinds this
    plugin declares. ``ctx`` is a :class:`ananke.VerifyContext` (token ids when known,
    ``ctx.verify(child, text)`` for nested nodes).
    """


@hookspec(firstresult=True)
def ananke_normalize_input(data, pointer):
    """Recognize a foreign constraint format in the JSON object ``data``.

    Return an IR v1 node (a dict with ``kind``) when this plugin recognizes the format,
    else ``None``. Built-in formats (seed, Braid, Maze, ``{"type": ...}``) are tried after
    plugins, so a plugin can add formats but not shadow IR documents or bare nodes.
    """
