"""Ananke's compiler core: ConstraintIR v1, the plugin host, normalization and the compiler."""

from ananke.core._compiler import (
    CompiledConstraint,
    TokenMask,
    ValidationReport,
    Verification,
    compile_constraint,
    matches,
    validate,
)
from ananke.core._host import PluginHost, PluginInfo, get_host, reset_host
from ananke.core._ir import ConstraintIR, KindInfo, NodeModel
from ananke.core._lowering import Fragment, Lowered, LoweringContext, VerifyContext
from ananke.core._normalize import load_constraint
from ananke.core.hookspecs import hookimpl

__all__ = [
    "CompiledConstraint",
    "ConstraintIR",
    "Fragment",
    "KindInfo",
    "Lowered",
    "LoweringContext",
    "NodeModel",
    "PluginHost",
    "PluginInfo",
    "TokenMask",
    "ValidationReport",
    "Verification",
    "VerifyContext",
    "compile_constraint",
    "get_host",
    "hookimpl",
    "load_constraint",
    "matches",
    "reset_host",
    "validate",
]
