"""The request front half of VllmEngine against vLLM's real tokenizer, renderer and config."""

from __future__ import annotations

from typing import Any

import pytest

from ananke.runtime.engines._vllm import build_llg_tokenizer, end_token_ids, prompt_token_ids, render_prompt


@pytest.fixture(scope="module")
def renderer(model_config: Any) -> Any:
    from vllm.config import DeviceConfig, VllmConfig
    from vllm.renderers import renderer_from_config

    return renderer_from_config(VllmConfig(model_config=model_config, device_config=DeviceConfig(device="cpu")))


class _Frontend:
    """The two attributes of ``AsyncLLM`` that ``render_prompt`` reads, from real vLLM objects."""

    def __init__(self, renderer: Any, model_config: Any) -> None:
        self.renderer = renderer
        self.model_config = model_config


def test_prompt_rendering(renderer: Any, model_config: Any) -> None:
    tok = renderer.tokenizer
    chat_ids = prompt_token_ids(tok, "hi there", chat=True)
    text = tok.decode(chat_ids)
    assert text.startswith("<|im_start|>") and text.endswith("<|im_start|>assistant\n") and "hi there" in text
    plain = prompt_token_ids(tok, "hi there", chat=False)
    assert tok.decode(plain, skip_special_tokens=True) == "hi there"
    engine_input = render_prompt(_Frontend(renderer, model_config), chat_ids)
    assert engine_input["type"] == "token" and engine_input["prompt_token_ids"] == chat_ids


def test_end_ids_and_llg_tokenizer_match_vllms(renderer: Any, model_config: Any, llg_tok: Any) -> None:
    tok = renderer.tokenizer
    assert end_token_ids(tok, model_config) == [tok.eos_token_id]
    ours = build_llg_tokenizer(tok, model_config.get_vocab_size())
    assert ours.vocab_size == llg_tok.vocab_size and ours.eos_token == llg_tok.eos_token
    sample = 'def f(x):\n    return {"a": [1, 2.5, null]}  # ünïcode'
    assert ours.tokenize_str(sample) == llg_tok.tokenize_str(sample)
