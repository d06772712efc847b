"""The vLLM objects that VllmEngine builds are real vLLM objects with the intended fields."""

from __future__ import annotations

from typing import Any

import pytest

import ananke
from ananke.runtime._engine import GenerationParams
from ananke.runtime.engines._vllm import (
    ALL_OF_EXTRA_ARG,
    ALL_OF_PROCESSOR,
    CPU_KV_CACHE_GIB,
    VllmSettings,
    build_engine_args,
    build_sampling_params,
    check_enforceable,
    static_token_ids,
)


def _compile(source: Any, llg_tok: Any) -> Any:
    return ananke.compile(source, tokenizer=llg_tok)


def test_unconstrained_request(vocab_size: int, model_config: Any, so_config: Any, tokenizer: Any) -> None:
    from vllm import SamplingParams
    from vllm.sampling_params import RequestOutputKind

    params = GenerationParams(max_tokens=17, temperature=0.5, top_p=0.9, top_k=0, seed=3, stop=["\n\n"])
    sp = build_sampling_params(None, params, vocab_size=vocab_size)
    assert isinstance(sp, SamplingParams)
    assert sp.structured_outputs is None and sp.allowed_token_ids is None
    assert (sp.max_tokens, sp.temperature, sp.top_p, sp.top_k, sp.seed) == (17, 0.5, 0.9, 0, 3)
    assert sp.stop == ["\n\n"] and sp.n == 1
    assert sp.output_kind == RequestOutputKind.FINAL_ONLY
    assert (
        build_sampling_params(None, params, vocab_size=vocab_size, stream=True).output_kind == RequestOutputKind.DELTA
    )
    sp.verify(model_config, None, so_config, tokenizer)


def test_grammar_goes_to_structured_outputs(llg_tok: Any, vocab_size: int) -> None:
    from vllm.sampling_params import StructuredOutputsParams

    compiled = _compile({"kind": "regex", "pattern": "[0-9]{2,4}"}, llg_tok)
    sp = build_sampling_params(compiled, GenerationParams(top_k=50, temperature=0.7), vocab_size=vocab_size)
    assert isinstance(sp.structured_outputs, StructuredOutputsParams)
    assert sp.structured_outputs.grammar == compiled.grammars[0]
    for other in ("json", "regex", "choice", "json_object", "structural_tag"):
        assert getattr(sp.structured_outputs, other) is None
    assert sp.allowed_token_ids is None
    assert (sp.top_k, sp.temperature) == (50, 0.7)


def test_forbidden_tokens_become_allowed_token_ids(
    llg_tok: Any, tokenizer: Any, vocab_size: int, model_config: Any, so_config: Any
) -> None:
    eos = tokenizer.eos_token_id
    compiled = _compile({"kind": "token_mask", "forbidden_tokens": [5, 6, 700]}, llg_tok)
    assert compiled.grammars == []
    sp = build_sampling_params(compiled, GenerationParams(), vocab_size=vocab_size, end_ids=[eos])
    assert sp.structured_outputs is None
    assert len(sp.allowed_token_ids) == vocab_size - 3
    assert {5, 6, 700}.isdisjoint(sp.allowed_token_ids) and eos in sp.allowed_token_ids
    sp.verify(model_config, None, so_config, tokenizer)


def test_allowed_tokens_keep_eos_unless_forbidden(llg_tok: Any, tokenizer: Any, vocab_size: int) -> None:
    eos = tokenizer.eos_token_id
    compiled = _compile({"kind": "token_mask", "allowed_tokens": [30, 10, 20]}, llg_tok)
    sp = build_sampling_params(compiled, GenerationParams(), vocab_size=vocab_size, end_ids=[eos])
    assert sp.allowed_token_ids == sorted({10, 20, 30, eos})
    no_eos = _compile({"kind": "token_mask", "allowed_tokens": [10, 20], "forbidden_tokens": [eos]}, llg_tok)
    assert static_token_ids(no_eos.token_mask, vocab_size, [eos]) == [10, 20]


def test_out_of_vocabulary_ids_are_refused(vocab_size: int) -> None:
    mask = ananke.TokenMask(allowed=[1, vocab_size + 5])
    with pytest.raises(ananke.ConstraintError, match="outside the model's vocabulary"):
        static_token_ids(mask, vocab_size)


def test_further_grammars_go_to_the_logits_processor_never_dropped(llg_tok: Any, vocab_size: int) -> None:
    compiled = _compile(
        {
            "kind": "composite",
            "op": "all_of",
            "parts": [
                {"kind": "grammar", "lark": 'start: /[a-z]+/ "!"'},
                {"kind": "grammar", "lark": 'start: "a" /.*/'},
            ],
        },
        llg_tok,
    )
    assert len(compiled.grammars) == 2
    sp = build_sampling_params(compiled, GenerationParams(), vocab_size=vocab_size)
    assert sp.structured_outputs.grammar == compiled.grammars[0]
    assert sp.extra_args == {ALL_OF_EXTRA_ARG: [compiled.grammars[1]]}
    # an engine started without the logits processor refuses them instead of enforcing one
    with pytest.raises(ananke.UnsupportedFeatureError, match="intersection of 2 grammars"):
        check_enforceable(compiled, all_of=False)
    with pytest.raises(ananke.UnsupportedFeatureError) as info:
        build_sampling_params(compiled, GenerationParams(), vocab_size=vocab_size, all_of=False)
    assert info.value.to_dict()["errors"][0]["pointer"] == "/constraint"


def test_sampling_params_survive_the_engine_core_wire_format(llg_tok: Any, tokenizer: Any, vocab_size: int) -> None:
    """vLLM ships SamplingParams to its engine-core process with msgpack: nothing may be lost."""
    from vllm import SamplingParams
    from vllm.v1.serial_utils import MsgpackDecoder, MsgpackEncoder

    source = {
        "kind": "composite",
        "op": "all_of",
        "parts": [{"kind": "regex", "pattern": "[0-9]+"}, {"kind": "token_mask", "forbidden_tokens": [7]}],
    }
    compiled = _compile(source, llg_tok)
    sp = build_sampling_params(
        compiled, GenerationParams(max_tokens=9, seed=1), vocab_size=vocab_size, end_ids=[tokenizer.eos_token_id]
    )
    back = MsgpackDecoder(SamplingParams).decode(MsgpackEncoder().encode(sp))
    assert back.structured_outputs.grammar == compiled.grammars[0]
    assert back.allowed_token_ids == sp.allowed_token_ids and 7 not in back.allowed_token_ids
    assert (back.max_tokens, back.seed) == (9, 1)


def test_engine_args_pin_the_guidance_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants
    from vllm import AsyncEngineArgs

    # As on Modal (online): in offline mode vLLM would resolve the id to a local snapshot here.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)

    settings = VllmSettings(
        model="meta-llama/Llama-3.3-70B-Instruct",
        tensor_parallel_size=4,
        max_model_len=8192,
        download_dir="/root/.cache/huggingface/hub",
    )
    args = build_engine_args(settings, on_cpu=False)
    assert isinstance(args, AsyncEngineArgs)
    assert args.structured_outputs_config.backend == "guidance"
    assert (args.model, args.tensor_parallel_size, args.max_model_len) == (settings.model, 4, 8192)
    assert args.download_dir == "/root/.cache/huggingface/hub"
    assert args.kv_cache_memory_bytes is None  # on a GPU: vLLM's gpu_memory_utilization (0.90)
    on_cpu = build_engine_args(VllmSettings(), "/models/smol", on_cpu=True)
    assert on_cpu.model == "/models/smol" and on_cpu.tensor_parallel_size == 1
    assert on_cpu.kv_cache_memory_bytes == int(CPU_KV_CACHE_GIB * (1 << 30))  # not 92 % of a shared machine's RAM
    told = build_engine_args(VllmSettings(gpu_memory_utilization=0.05), "/models/smol", on_cpu=True)
    assert told.kv_cache_memory_bytes is None and told.gpu_memory_utilization == 0.05
    assert build_engine_args(
        VllmSettings(), "/m", on_cpu=True, logits_processors=[ALL_OF_PROCESSOR]
    ).logits_processors == [ALL_OF_PROCESSOR]


def test_every_vllm_setting_of_ananke_config_reaches_the_engine_args(model_dir: Any) -> None:
    from ananke._config import FIELDS, load_config

    env = {
        "ANANKE_GPU_MEMORY_UTILIZATION": "0.07",
        "ANANKE_ENFORCE_EAGER": "1",
        "ANANKE_MAX_NUM_SEQS": "5",
        "ANANKE_MAX_MODEL_LEN": "2048",
        "ANANKE_KV_CACHE_GIB": "0.5",
        "ANANKE_DTYPE": "float32",
        "ANANKE_TENSOR_PARALLEL": "1",
        "ANANKE_MODEL_REVISION": "main",
        "ANANKE_DOWNLOAD_DIR": "/tmp/w",
    }
    assert {f.env for f in FIELDS if f.name.startswith("vllm.")} >= set(env) - {"ANANKE_MODEL"}
    settings = VllmSettings.from_config(load_config(env=env))
    args = build_engine_args(settings, str(model_dir), on_cpu=True)
    assert (args.gpu_memory_utilization, args.enforce_eager, args.max_num_seqs, args.max_model_len) == (
        0.07,
        True,
        5,
        2048,
    )
    assert args.kv_cache_memory_bytes == 1 << 29 and args.dtype == "float32"
    assert (args.revision, args.download_dir) == ("main", "/tmp/w")
