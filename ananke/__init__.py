"""Ananke: compile constraints (JSON Schema, grammars, regexes, token masks, compositions) into
llguidance grammars and enforce them token by token while a model generates code.

    >>> import ananke
    >>> ananke.matches({"kind": "regex", "pattern": "[0-9]+"}, "2026")
    True
"""

from ananke._version import __version__
from ananke.core import (
    CompiledConstraint,
    ConstraintIR,
    Fragment,
    KindInfo,
    Lowered,
    LoweringContext,
    NodeModel,
    TokenMask,
    ValidationReport,
    Verification,
    VerifyContext,
    hookimpl,
    load_constraint,
    matches,
    validate,
)
from ananke.core import compile_constraint as compile  # the public name is the point
from ananke.errors import (
    AnankeError,
    ConfigError,
    ConstraintError,
    ConstraintLimitError,
    Diagnostic,
    EngineError,
    RegistryError,
    RequestError,
    UnknownKindError,
    UnsupportedFeatureError,
    UsageError,
)

__all__ = [
    "AnankeError",
    "CompiledConstraint",
    "ConfigError",
    "ConstraintError",
    "ConstraintIR",
    "ConstraintLimitError",
    "Diagnostic",
    "EngineError",
    "Fragment",
    "KindInfo",
    "Lowered",
    "LoweringContext",
    "NodeModel",
    "RegistryError",
    "RequestError",
    "TokenMask",
    "UnknownKindError",
    "UnsupportedFeatureError",
    "UsageError",
    "ValidationReport",
    "Verification",
    "VerifyContext",
    "__version__",
    "compile",
    "hookimpl",
    "load_constraint",
    "matches",
    "validate",
]
